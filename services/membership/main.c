/* main.c: compact-membership, the registry of the Compact's entities.
 *
 * The service is a table (membership_service.c); service_main() runs it.
 */
#include "membership_service.h"

int main(int argc, char **argv)
{
    return service_main(membership_service_def(), argc, argv);
}

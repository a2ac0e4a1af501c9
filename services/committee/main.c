/* main.c: compact-committee, the Coordination Committee's meetings,
 * decisions and catalytic funding.
 *
 * The service is a table (committee_service.c); service_main() runs it.
 */
#include "committee_service.h"

int main(int argc, char **argv)
{
    return service_main(committee_service_def(), argc, argv);
}

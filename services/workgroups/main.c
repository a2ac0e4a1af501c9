/* main.c: compact-workgroups, the Compact's eight inter-agency Working Groups.
 *
 * The service is a table (workgroups_service.c); service_main() runs it.
 */
#include "workgroups_service.h"

int main(int argc, char **argv)
{
    return service_main(workgroups_service_def(), argc, argv);
}

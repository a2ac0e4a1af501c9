/* main.c: compact-projects, the joint projects of the Compact's Working Groups.
 *
 * The service is a table (projects_service.c); service_main() runs it.
 */
#include "projects_service.h"

int main(int argc, char **argv)
{
    return service_main(projects_service_def(), argc, argv);
}

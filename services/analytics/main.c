/* main.c: compact-analytics, the Compact's figures and its dashboard.
 *
 * The service is a table (analytics_service.c); service_main() runs it.
 */
#include "analytics_service.h"

int main(int argc, char **argv)
{
    return service_main(analytics_service_def(), argc, argv);
}

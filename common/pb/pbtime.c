/* pbtime.c: google.protobuf.Timestamp and milliseconds (see pbtime.h). */
#include "pbtime.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

int64_t pbtime_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Google__Protobuf__Timestamp *pbtime_new(int64_t ms)
{
    Google__Protobuf__Timestamp *ts = malloc(sizeof *ts);

    if (ts == NULL)
        return NULL;
    google__protobuf__timestamp__init(ts);
    ts->seconds = ms / 1000;
    ts->nanos = (int32_t)(ms % 1000) * 1000000;
    return ts;
}

int64_t pbtime_ms(const Google__Protobuf__Timestamp *ts)
{
    return ts ? ts->seconds * 1000 + ts->nanos / 1000000 : 0;
}

int pbtime_set(Google__Protobuf__Timestamp **field, int64_t ms)
{
    Google__Protobuf__Timestamp *ts = pbtime_new(ms);

    if (ts == NULL)
        return -ENOMEM;
    if (*field)
        protobuf_c_message_free_unpacked(&(*field)->base, NULL);
    *field = ts;
    return 0;
}

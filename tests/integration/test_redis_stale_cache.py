"""Redis comes back from an outage with its old data, as production's Redis
does (it runs with its append-only file): the cache then holds the state of
an aggregate from before a change made while Redis was down.

Every other test restarts Redis empty, where a stale entry cannot exist.
Here Redis runs with --appendonly yes: the cache is warmed, Redis is
stopped (its file fsynced), the aggregate is changed (acknowledged) while it
is down, Redis starts again with the old entry, and from then on every Get
must answer the new state. The invalidation the write could not make rides
in its outbox event (docs/ARCHITECTURE.md, cache rules), so the service
must not answer from the restored entry before that invalidation is done.

The flush of the WAL is slowed down (store.sync_delay_ms), as a busy disk
does: the relay flushes before it publishes, so this widens the window
between the reconnect and the relay's invalidation without changing what
the service is required to do (the stale reads show without it too).

The same holds after Redis hung (SIGSTOP) and answered again: a change
acknowledged during the hang must be what every later Get answers."""
import grpc
import pytest

import harness
import kits
from harness import poll

C = grpc.StatusCode
SENTINEL = "compact-test:sentinel"




def warm(suite, kit, a):
    """Reads `a` (published first) until its key is in Redis, then once
    more, from the cache."""
    harness.wait_published(suite, a.id, kit.name)
    assert kit.get(a.id) == a
    poll(lambda: suite.redis("EXISTS", kit.cache_key(a.id)) == 1,
         what="the cache key of " + a.id)
    assert kit.get(a.id) == a


def never_stale_until_invalidated(suite, kit, a, a2):
    """Every Get answers a2, read after read, until the event of the change
    is in the stream (the relay's invalidation is then done too); after
    that the cache holds and answers the new state."""
    reads = []

    def fresh():
        got = kit.get(a.id)
        reads.append(got)
        assert got == a2, "read %d after Redis came back answered the %s state" % (
            len(reads), "old" if got == a else "wrong")
        evs = harness.stream_events(suite, kit.name)
        return (a.id, 2) in {harness.event_key(e) for _, e in evs}
    poll(fresh, what="the event of the change", interval=0.005)
    key = kit.cache_key(a.id)
    poll(lambda: kit.get(a.id) == a2 and
         type(a2).FromString(suite.redis("GET", key) or b"") == a2,
         what="the new state in the cache")
    assert kit.get(a.id) == a2


@pytest.mark.parametrize("name", kits.SERVICES)
def test_redis_back_with_its_old_data(suite_factory, name):
    suite, kit = kits.start(suite_factory, name, redis_appendonly=True,
                            faults={name: "store.sync_delay_ms=500"})
    a = kit.create("K1")
    warm(suite, kit, a)
    assert suite.redis("SET", SENTINEL, "1") == "OK"

    suite.stop_redis()
    a2 = kit.change(a, 1)
    assert kit.get(a.id) == a2                      # from SQLite

    suite.start_redis()
    # Redis loaded its old data (the append-only file was read).
    assert suite.redis("GET", SENTINEL) == b"1"
    never_stale_until_invalidated(suite, kit, a, a2)


@pytest.mark.parametrize("name", kits.SERVICES)
def test_redis_answers_again_after_a_hang(suite_factory, name):
    suite, kit = kits.start(suite_factory, name, faults={name: "store.sync_delay_ms=500"},
                            env={"COMPACT_REDIS_TIMEOUT_MS": "300"})
    a = kit.create("K1")
    warm(suite, kit, a)

    suite.pause_redis()
    assert kit.get(a.id) == a                       # the GET times out: from SQLite
    a2 = kit.change(a, 1)
    assert kit.get(a.id) == a2
    suite.resume_redis()
    never_stale_until_invalidated(suite, kit, a, a2)

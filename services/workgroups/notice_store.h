/* notice_store.h: the workgroups service's tables and queries, part three:
 * notices and subscriptions (information-sharing).
 *
 * A notice is posted once and never changed; a subscription is made once
 * and removed (Unsubscribe). Both are aggregates of their own, written with
 * the toolkit (notices.c), in the tables group_store.c's second migration
 * makes. Who may see a notice is decided from its visibility and, for a
 * members-only notice, from the group's leaders and members as they are when
 * it is read or delivered (notice_store_audience): nothing about readers is
 * stored with a notice.
 *
 * Post times are unique and strictly increasing (notice_store_next_post_ms),
 * so that "posted after T" pages a digest with nothing lost or repeated, and
 * serve as ListNotices' page key.
 *
 * Same rules as group_store.h: the loop thread only, writes inside the
 * caller's transaction, messages malloc'd throughout (free them with
 * pbmsg_free or the functions below), errors 0 or a negative errno (-ENOENT,
 * -EEXIST, -ENOMEM, the store's).
 */
#ifndef COMPACT_WORKGROUPS_NOTICE_STORE_H
#define COMPACT_WORKGROUPS_NOTICE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "group_store.h"

typedef Compact__Workgroups__V1__Notice Notice;
typedef Compact__Workgroups__V1__Subscription Subscription;

/* Whose eyes a query reads with: `entity_id` ("": nobody in particular, who
 * sees public notices only) and whether it is an active Compact entity (the
 * caller asked membership). */
typedef struct notice_reader {
    const char *entity_id;
    int active;
} notice_reader;

/* ---- notices ------------------------------------------------------------ */

/* The post time for a notice posted at `now_ms`: `now_ms`, or one past the
 * latest post time when that is not earlier (a burst, or a clock stepped
 * back). Returns it into *out; 0 or a negative errno. */
int notice_store_next_post_ms(store *st, int64_t now_ms, int64_t *out);

/* The latest post time of any notice, 0 when there is none. */
int notice_store_latest_post_ms(store *st, int64_t *out);

/* Inserts `n` (id and post_time set). Inside a transaction. */
int notice_store_insert(store *st, const Notice *n);

/* Notice `id` into *out (caller frees), or -ENOENT. */
int notice_store_get(store *st, const char *id, Notice **out);

/* ListNotices: up to `limit` notices of `group_id` ("": of every group and
 * the whole Compact) that `r` may see, posted before `before_ms` (0: from
 * the newest), newest first. Sets *out (*n entries; caller frees with
 * notice_store_free_list). */
int notice_store_list(store *st, const char *group_id, const notice_reader *r, int64_t before_ms,
                      size_t limit, Notice ***out, size_t *n);

/* GetDigest: up to `limit` notices posted after `since_ms` that
 * subscription `sub` follows and its entity (`r`) may see, oldest first. */
int notice_store_digest(store *st, const Subscription *sub, const notice_reader *r,
                        int64_t since_ms, size_t limit, Notice ***out, size_t *n);

void notice_store_free_list(Notice **v, size_t n);

/* The leaders (chair, vice-chairs) and members of group `group_id` now, into
 * *out (*n ids; caller frees with notice_store_free_ids). */
int notice_store_audience(store *st, const char *group_id, char ***out, size_t *n);

void notice_store_free_ids(char **v, size_t n);

/* ---- subscriptions ------------------------------------------------------ */

/* Inserts `s` (id and create_time set) with its groups. */
int notice_store_insert_subscription(store *st, const Subscription *s);

/* Subscription `id` into *out (caller frees), or -ENOENT. */
int notice_store_get_subscription(store *st, const char *id, Subscription **out);

/* Removes subscription `id` with its groups: -ENOENT if there is none. */
int notice_store_delete_subscription(store *st, const char *id);

#endif

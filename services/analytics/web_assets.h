/* web_assets.h: the dashboard's files, compiled into the binary
 * (build.cmake embeds them). */
#ifndef COMPACT_ANALYTICS_WEB_ASSETS_H
#define COMPACT_ANALYTICS_WEB_ASSETS_H

#include <stddef.h>

typedef struct web_asset {
    const char *path; /* "/assets/app.js" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} web_asset;

/* The asset served at `path`, or NULL. */
const web_asset *web_asset_find(const char *path);

#endif

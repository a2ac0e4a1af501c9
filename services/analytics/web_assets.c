/* web_assets.c: the dashboard's files and their paths (see web_assets.h). */
#include "web_assets.h"

#include <string.h>

/* Defined by the files build.cmake generates. */
extern const unsigned char web_asset_index_html[], web_asset_app_js[], web_asset_app_css[],
    web_asset_chart_umd_js[];
extern const size_t web_asset_index_html_len, web_asset_app_js_len, web_asset_app_css_len,
    web_asset_chart_umd_js_len;

const web_asset *web_asset_find(const char *path)
{
    /* Filled on first use: the lengths are variables of other files. Loop
     * thread only. */
    static web_asset assets[4];

    if (assets[0].path == NULL) {
        assets[0] = (web_asset){"/index.html", "text/html; charset=utf-8", web_asset_index_html,
                                web_asset_index_html_len};
        assets[1] = (web_asset){"/assets/app.js", "text/javascript; charset=utf-8",
                                web_asset_app_js, web_asset_app_js_len};
        assets[2] = (web_asset){"/assets/app.css", "text/css; charset=utf-8", web_asset_app_css,
                                web_asset_app_css_len};
        assets[3] = (web_asset){"/assets/chart.umd.js", "text/javascript; charset=utf-8",
                                web_asset_chart_umd_js, web_asset_chart_umd_js_len};
    }
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++)
        if (strcmp(assets[i].path, path) == 0)
            return &assets[i];
    return NULL;
}

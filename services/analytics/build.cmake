# Analytics serves its dashboard from the binary: the page, its script and
# style sheet (services/analytics/web) and Chart.js from Debian's
# libjs-chart.js become byte arrays (cmake/embed.cmake) that web_assets.c
# lists. Included by add_compact_service() in the top CMakeLists.txt.
find_file(COMPACT_CHART_JS chart.min.js PATHS /usr/share/javascript/chart.js NO_DEFAULT_PATH
          REQUIRED)
set(asset_dir ${CMAKE_BINARY_DIR}/gen/analytics_web)
set(asset_sources)
foreach(pair "index.html|${CMAKE_SOURCE_DIR}/services/analytics/web/index.html"
             "app.js|${CMAKE_SOURCE_DIR}/services/analytics/web/app.js"
             "app.css|${CMAKE_SOURCE_DIR}/services/analytics/web/app.css"
             "chart.umd.js|${COMPACT_CHART_JS}")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 asset)
  list(GET pair 1 file)
  string(MAKE_C_IDENTIFIER "web_asset_${asset}" symbol)
  add_custom_command(
    OUTPUT ${asset_dir}/${symbol}.c
    COMMAND ${CMAKE_COMMAND} -E make_directory ${asset_dir}
    COMMAND ${CMAKE_COMMAND} -DIN=${file} -DOUT=${asset_dir}/${symbol}.c -DNAME=${symbol}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${file} ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "embedding the dashboard's ${asset}"
    VERBATIM)
  list(APPEND asset_sources ${asset_dir}/${symbol}.c)
endforeach()
target_sources(compact_analytics_core PRIVATE ${asset_sources})
# The web's JSON (pbjson) and its HTTP server.
target_link_libraries(compact_analytics_core PUBLIC compact_json compact_http)

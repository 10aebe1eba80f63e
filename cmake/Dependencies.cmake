# Every dependency is a Debian 12 package (see README "Dependencies").
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET libevent_core libevent_extra libevent_openssl)
# libidn2: UTS #46 / IDNA2008 conversion of UTF-8 next hops (common/domain.cpp); getdns
# already depends on its runtime library.
pkg_check_modules(LIBIDN2 REQUIRED IMPORTED_TARGET libidn2)
# libsystemd: sd-journal, the mail-log source `journal` (tlsrpt/maillog_journal_reader.cpp).
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3 REQUIRED)

find_path(GETDNS_INCLUDE_DIR getdns/getdns_ext_libevent.h REQUIRED)
find_library(GETDNS_LIBRARY NAMES getdns REQUIRED)
# getdns ships no pkg-config file for its libevent extension.
# Debian 12 ships libgetdns_ex_event.so with no exported symbols; its static archive works.
find_library(GETDNS_EVENT_ARCHIVE NAMES libgetdns_ex_event.a getdns_ex_event getdns_ext_event REQUIRED)
add_library(getdns_libevent INTERFACE)
target_include_directories(getdns_libevent SYSTEM INTERFACE ${GETDNS_INCLUDE_DIR})
target_link_libraries(getdns_libevent INTERFACE ${GETDNS_EVENT_ARCHIVE} ${GETDNS_LIBRARY})

find_path(LMDB_INCLUDE_DIR lmdb.h REQUIRED)
find_library(LMDB_LIBRARY NAMES lmdb REQUIRED)
add_library(lmdb INTERFACE)
target_include_directories(lmdb SYSTEM INTERFACE ${LMDB_INCLUDE_DIR})
target_link_libraries(lmdb INTERFACE ${LMDB_LIBRARY})

if(MTASTS_TESTS)
  find_package(doctest REQUIRED)
endif()

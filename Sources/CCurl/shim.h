// libcurl for Swift. curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot
// call, so each argument type gets a typed inline wrapper here.
#include <curl/curl.h>

/// A write or header callback: `size * nmemb` bytes at `data`; returns the bytes taken.
typedef size_t (*ck_curl_data_callback)(char *data, size_t size, size_t nmemb, void *context);

static inline CURLcode ck_curl_global_init(void) { return curl_global_init(CURL_GLOBAL_ALL); }

static inline CURLcode ck_curl_set_long(CURL *handle, CURLoption option, long value) {
  return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ck_curl_set_offset(CURL *handle, CURLoption option, curl_off_t value) {
  return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ck_curl_set_string(CURL *handle, CURLoption option, const char *value) {
  return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ck_curl_set_pointer(CURL *handle, CURLoption option, void *value) {
  return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ck_curl_set_headers(CURL *handle, struct curl_slist *headers) {
  return curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
}

static inline CURLcode ck_curl_set_callback(
    CURL *handle, CURLoption option, ck_curl_data_callback callback) {
  return curl_easy_setopt(handle, option, callback);
}

static inline long ck_curl_response_code(CURL *handle) {
  long code = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

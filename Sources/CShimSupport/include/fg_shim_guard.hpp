// The one boundary every C++ shim call crosses: no exception reaches Swift.
#pragma once

#ifdef __cplusplus
#include <cstddef>
#include <cstring>
#include <exception>
#include <new>

namespace fg_shim {

inline void set_error(char *error, size_t size, const char *message) {
    if (!error || size == 0) return;
    std::strncpy(error, message, size - 1);
    error[size - 1] = 0;
}

// Runs `body`, turning every exception into return code 1 and a message.
template <typename Body>
int guarded(char *error, size_t error_size, Body &&body) {
    try {
        body();
        return 0;
    } catch (const std::bad_alloc &) {
        set_error(error, error_size, "out of memory");
    } catch (const std::exception &e) {
        set_error(error, error_size, e.what());
    } catch (...) {
        set_error(error, error_size, "unknown C++ exception");
    }
    return 1;
}

}  // namespace fg_shim
#endif

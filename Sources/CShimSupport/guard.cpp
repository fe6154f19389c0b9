// A header-only target (SwiftPM needs one source file): fg_shim_guard.hpp, shared by the C++ shims.
#include "fg_shim_guard.hpp"

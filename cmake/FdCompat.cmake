# Configure-time check of the libfdcore internals this project uses
# (lib/src/fdcompat.c, the only file that uses them): each symbol must be
# exported by the libfdcore found, else configuring stops with a message
# naming it, instead of an extension failing to load in freeDiameterd.
# Keep the list in sync with MB2C_FD_PRIVATE_SYMBOLS (mb2c/fdcompat.h).
include(CheckCSourceCompiles)
include(CMakePushCheckState)

set(MB2C_FD_PRIVATE_SYMBOLS fd_tls_verify_credentials_2 fd_cnx_getid fd_psm_terminate)

function(mb2c_check_fd_private_symbols lib)
  set(_missing)
  foreach(_sym ${MB2C_FD_PRIVATE_SYMBOLS})
    # the result is cached per library file: a different libfdcore checks again
    string(MAKE_C_IDENTIFIER "MB2C_FD_HAS_${_sym}_${lib}" _var)
    cmake_push_check_state(RESET)
    set(CMAKE_REQUIRED_LIBRARIES "${lib}")
    set(CMAKE_REQUIRED_QUIET ON)
    # declared here as libfdcore's private headers do; only the link matters
    check_c_source_compiles("
      extern char ${_sym}(void);
      int main(void) { return ${_sym}() != 0; }" ${_var})
    cmake_pop_check_state()
    if(NOT ${_var})
      list(APPEND _missing ${_sym})
    endif()
  endforeach()
  if(_missing)
    string(REPLACE ";" ", " _m "${_missing}")
    message(FATAL_ERROR
      "libfdcore (${lib}) does not export ${_m}: lib/src/fdcompat.c needs "
      "these internals of the freeDiameter core (exported, though not in its "
      "public headers, by 1.2.1 and 1.5.0). This freeDiameter is not supported; "
      "see lib/include/mb2c/fdcompat.h.")
  endif()
  message(STATUS "libfdcore exports the internals fdcompat.c uses: ${MB2C_FD_PRIVATE_SYMBOLS}")
endfunction()

# Helpers for the repeated test declarations of test/ (included by test/CMakeLists.txt).

# mb2c_script_test(NAME SCRIPT [ARGS arg...] [LABELS label...] [TIMEOUT s]
#                  [SKIPPABLE] [LOCK resource])
# A shell test: `bash SCRIPT <project source dir> <build dir> ARGS...`, SCRIPT
# relative to the calling CMakeLists.txt. SKIPPABLE: exit 77 means skipped;
# LOCK: a RESOURCE_LOCK shared with other tests.
function(mb2c_script_test name script)
  cmake_parse_arguments(PARSE_ARGV 2 arg "SKIPPABLE" "TIMEOUT;LOCK" "ARGS;LABELS")
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${script} ${PROJECT_SOURCE_DIR}
                                ${CMAKE_BINARY_DIR} ${arg_ARGS})
  set_tests_properties(${name} PROPERTIES LABELS "${arg_LABELS}")
  if(arg_TIMEOUT)
    set_tests_properties(${name} PROPERTIES TIMEOUT ${arg_TIMEOUT})
  endif()
  if(arg_SKIPPABLE)
    set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
  if(arg_LOCK)
    set_tests_properties(${name} PROPERTIES RESOURCE_LOCK ${arg_LOCK})
  endif()
endfunction()

# mb2c_unit_test(NAME LIBS lib... [ARGS arg...] [COMMAND cmd...] [TIMEOUT s])
# A unit test program test_NAME built from test_NAME.c (test/include on its
# include path, linked with LIBS), run as the test unit.NAME (labels unit and
# sanitize) with ARGS, or as COMMAND when given (e.g. a wrapping script).
function(mb2c_unit_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "TIMEOUT" "LIBS;ARGS;COMMAND")
  add_executable(test_${name} test_${name}.c)
  target_include_directories(test_${name} PRIVATE ${PROJECT_SOURCE_DIR}/test/include)
  target_link_libraries(test_${name} PRIVATE ${arg_LIBS})
  if(arg_COMMAND)
    add_test(NAME unit.${name} COMMAND ${arg_COMMAND})
  else()
    add_test(NAME unit.${name} COMMAND test_${name} ${arg_ARGS})
  endif()
  set_tests_properties(unit.${name} PROPERTIES LABELS "unit;sanitize")
  if(arg_TIMEOUT)
    set_tests_properties(unit.${name} PROPERTIES TIMEOUT ${arg_TIMEOUT})
  endif()
endfunction()

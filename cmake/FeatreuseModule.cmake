# featreuse_module(NAME DEPS <libs...> [EXCLUDE <files...>]): one static library
# per module from src/<NAME>/*.cpp, public headers under include/featreuse/<NAME>.
# Module order is the layering of docs/architecture.md: a module links only
# modules below it.
function(featreuse_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;EXCLUDE" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  foreach(excluded ${ARG_EXCLUDE})
    list(REMOVE_ITEM sources ${excluded})
  endforeach()
  if(NOT sources)  # header-only so far
    add_library(featreuse_${name} INTERFACE)
    target_include_directories(featreuse_${name} INTERFACE ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(featreuse_${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(featreuse_${name} STATIC ${sources})
  target_include_directories(featreuse_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(featreuse_${name} PUBLIC ${ARG_DEPS})
  target_compile_options(featreuse_${name} PRIVATE -Wall -Wextra)
endfunction()

# cmake/install.cmake: installing weft and exporting it to other projects.
#
# `cmake --install <build> [--prefix P]` puts
#   P/include/weft/**                       the public headers (the contract)
#   P/lib/libweft.a                         the library (static by default)
#   P/lib/cmake/weft/weft{Config,ConfigVersion,Targets*}.cmake
#                                           find_package(weft) -> weft::weft
#   P/lib/pkgconfig/weft.pc                 pkg-config --cflags --libs weft (--static too)
# ("lib" is CMAKE_INSTALL_LIBDIR: lib/<multiarch> when the prefix is /usr on Debian.)
#
# A static libweft.a links Boost.Context, libunwind, libdw, liburing (when
# found) and libdl privately;
# CMake exports those as $<LINK_ONLY:...> entries of weft::weft, so the package
# config must bring those targets back in the consumer (see weftConfig.cmake.in).
# The warning flags targets (weft_flags, weft_warnings) are linked only under $<BUILD_INTERFACE:>
# and so never reach the export.
#
# Both the CMake package and weft.pc are relocatable: they locate the prefix
# from where they are installed, so `--prefix` at install time just works.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(WEFT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/weft
    CACHE STRING "Where weftConfig.cmake is installed, relative to the prefix")

# The public headers use C++20 (concepts-era library types, default_sentinel_t):
# a consumer of weft::weft must compile as C++20 or later whatever its own
# default. (This belongs beside add_library(weft) in CMakeLists.txt; setting it
# here twice is harmless.)

install(TARGETS weft weft_remote_required
  EXPORT weftTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Runtime
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT Runtime)

# include/weft/** is the contract; a testing.hpp, if one ever lands there, is not.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/weft
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT Development
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h"
  PATTERN "testing.hpp" EXCLUDE)

install(EXPORT weftTargets
  NAMESPACE weft::
  DESTINATION ${WEFT_INSTALL_CMAKEDIR}
  COMPONENT Development)

# What the config needs to know about this build.
get_target_property(weft_library_type weft TYPE)
if(weft_library_type STREQUAL "STATIC_LIBRARY")
  set(WEFT_STATIC ON)
else()
  set(WEFT_STATIC OFF)
endif()
set(WEFT_BOOST_VERSION ${Boost_MAJOR_VERSION}.${Boost_MINOR_VERSION})

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/weftConfig.cmake.in
  ${PROJECT_BINARY_DIR}/weftConfig.cmake
  INSTALL_DESTINATION ${WEFT_INSTALL_CMAKEDIR})
# 0.x: minor versions may break the API, so only the same minor is compatible.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/weftConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/weftConfig.cmake
  ${PROJECT_BINARY_DIR}/weftConfigVersion.cmake
  DESTINATION ${WEFT_INSTALL_CMAKEDIR}
  COMPONENT Development)

# weft.pc: ${pcfiledir} makes it relocatable; compute the way back up from
# <libdir>/pkgconfig to the prefix.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(WEFT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(WEFT_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(WEFT_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH weft_pc_up /_root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /_root)
  string(REGEX REPLACE "/$" "" weft_pc_up "${weft_pc_up}")
  set(WEFT_PC_PREFIX "\${pcfiledir}/${weft_pc_up}")
  set(WEFT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(WEFT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# What linking libweft needs besides itself. A static libweft.a carries none
# of its dependencies, so a plain `pkg-config --libs weft` (no --static) must
# name them all: they go in Libs and Requires, not the .private fields,
# which pkg-config reads only with --static. A shared libweft.so links them
# itself, so then they are private.
# Debian ships no boost_context.pc, so Boost.Context goes in by name (with its
# directory when that is not one the linker searches anyway).
set(weft_pc_deps "-lboost_context")
if(Boost_LIBRARY_DIRS)
  foreach(dir ${Boost_LIBRARY_DIRS})
    if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
      string(PREPEND weft_pc_deps "-L${dir} ")
    endif()
  endforeach()
endif()
foreach(lib ${CMAKE_DL_LIBS})
  string(APPEND weft_pc_deps " -l${lib}")
endforeach()
# As the weft target's PUBLIC link option (CMakeLists.txt): libgcc_s is a
# needed library ahead of libunwind, whose _Unwind_* would otherwise take
# C++ exceptions away from the unwinder libstdc++ expects. Every consumer
# needs this, static or shared, and it must come before -lunwind, which
# pkg-config puts after these (Requires come after Libs).
set(weft_pc_gcc_s "-Wl,--push-state,--no-as-needed,-lgcc_s,--pop-state -pthread")
set(weft_pc_modules "libunwind libdw protobuf libssl libcrypto zlib")
if(WEFT_HAVE_LIBURING)
  string(APPEND weft_pc_modules " liburing")
endif()
if(WEFT_STATIC)
  set(WEFT_PC_LIBS "${weft_pc_deps} ${weft_pc_gcc_s}")
  set(WEFT_PC_REQUIRES "${weft_pc_modules}")
  set(WEFT_PC_REQUIRES_PRIVATE "")
  set(WEFT_PC_LIBS_PRIVATE "")
else()
  set(WEFT_PC_LIBS "${weft_pc_gcc_s}")
  set(WEFT_PC_REQUIRES "")
  set(WEFT_PC_REQUIRES_PRIVATE "${weft_pc_modules}")
  set(WEFT_PC_LIBS_PRIVATE "${weft_pc_deps}")
endif()
# What weft::weft gives its users' compiles, pkg-config users get too.
set(WEFT_PC_CFLAGS "")
if(WEFT_HAVE_STACK_CLASH_PROTECTION)
  set(WEFT_PC_CFLAGS " -fstack-clash-protection")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/weft.pc.in ${PROJECT_BINARY_DIR}/weft.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/weft.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT Development)

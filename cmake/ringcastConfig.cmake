# find_package(ringcast): the targets ringcast::core, ringcast::proto and ringcast::client.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(absl)
find_dependency(Protobuf)
find_dependency(gRPC CONFIG)
include("${CMAKE_CURRENT_LIST_DIR}/ringcastTargets.cmake")

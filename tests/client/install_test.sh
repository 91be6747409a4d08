#!/usr/bin/env bash
# `cmake --install` then find_package(ringcast) from a separate project: the client quick start
# builds against the installed headers and libraries alone.
# Usage: install_test.sh BUILD_DIR EXAMPLE_SOURCE
set -euo pipefail
build=$1
example=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
mkdir "$work/consumer"
cp "$example" "$work/consumer/main.cc"
cat > "$work/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(consumer LANGUAGES CXX)
find_package(ringcast REQUIRED)
add_executable(consumer main.cc)
target_link_libraries(consumer PRIVATE ringcast::client)
CMAKE
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/consumer/build" -j"$(nproc)" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
test -x "$work/consumer/build/consumer"
test -x "$work/prefix/bin/ringcast" && test -x "$work/prefix/bin/ringcastd"
echo "find_package(ringcast) and ringcast::client work from the installed tree"

# Fails unless DOC contains EXAMPLE verbatim as a ```cpp block, so the guide shows what is built.
file(READ "${DOC}" doc)
file(READ "${EXAMPLE}" example)
string(FIND "${doc}" "```cpp\n${example}```" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${DOC} does not show ${EXAMPLE} verbatim; copy the file into its ```cpp block")
endif()

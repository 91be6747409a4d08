# Fails unless DOC contains EXAMPLE verbatim as a fenced block (```cpp, or ```FENCE), so the
# documents show what is built and run.
if(NOT FENCE)
  set(FENCE cpp)
endif()
file(READ "${DOC}" doc)
file(READ "${EXAMPLE}" example)
string(FIND "${doc}" "```${FENCE}\n${example}```" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${DOC} does not show ${EXAMPLE} verbatim; copy the file into its ```${FENCE} block")
endif()

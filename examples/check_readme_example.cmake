# Fails unless README contains EXAMPLE verbatim as a ```cpp block.
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "```cpp\n${example}```" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md does not show ${EXAMPLE} verbatim; copy the file into its ```cpp block")
endif()

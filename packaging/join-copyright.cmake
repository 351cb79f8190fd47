# cmake -DOUTPUT=FILE -DPARTS="faultline's notice;library copyright files..." -DPACKAGES=...
#       -P join-copyright.cmake
# Writes the packages' copyright file: faultline's own notice, then, for each library linked into
# the programs, its Debian copyright file (packaging/CMakeLists.txt finds them).
list(POP_FRONT PARTS own)
file(READ ${own} text)
if(PARTS)
  string(APPEND text "\nThe programs carry code of the libraries below, linked in from these "
                     "Debian packages:\n ")
  list(JOIN PACKAGES ", " names)
  string(APPEND text "${names}.\nTheir copyright files follow, as Debian ships them.\n")
endif()
foreach(part IN LISTS PARTS)
  file(READ ${part} library)
  string(APPEND text "\n${part}:\n\n${library}")
endforeach()
file(WRITE ${OUTPUT}.tmp "${text}")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})

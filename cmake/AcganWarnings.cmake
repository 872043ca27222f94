# Warnings for our own targets only: LibTorch's headers are included as system headers by its
# imported target, so they stay quiet while our code is held to -Wall -Wextra.
function(acgan_enable_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local -Wno-unused-parameter)
endfunction()

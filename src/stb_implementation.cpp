// stb_image and stb_image_write's implementations, for builds that take stb's headers alone
// (ACGAN_HEADER_DEPS, CMakeLists.txt); Debian's libstb provides them otherwise.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

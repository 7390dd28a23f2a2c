// BER helpers are header-only (include/liprobe/export/ber.hpp); this unit checks it compiles alone.
#include "liprobe/export/ber.hpp"

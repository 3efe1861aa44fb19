#ifndef REGISTRAR_CHIREDIS_SHIM_H
#define REGISTRAR_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif

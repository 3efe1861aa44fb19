#ifndef REGISTRAR_CCRYPT_SHIM_H
#define REGISTRAR_CCRYPT_SHIM_H
#include <crypt.h>
#endif

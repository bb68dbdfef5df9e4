/*  libFuzzer target: the wire decoder and validator (common/ph_wire.c).
 *  Every frame any program receives goes through ph_wire_decode; it must
 *  never crash, leak or read out of bounds, whatever the bytes. */
#include "ph_wire.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err[256];
    ph_env_t *env = NULL;
    if (ph_wire_decode (data, size, &env, err, sizeof err) == 0) {
        /* what decodes must encode again within the frame limit */
        size_t len;
        uint8_t *buf = ph_wire_encode (env, &len);
        if (!buf)
            __builtin_trap ();
        free (buf);
        ph_wire_free (&env);
    }
    return 0;
}

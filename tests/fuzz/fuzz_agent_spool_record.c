/*  libFuzzer target: the agent's spool segment records
 *  (agent/agent_spool_disk.c), which start-up reads back from disk after a
 *  crash: a segment is walked record by record with
 *  ph_spool_disk_record_at until the first record that is cut short or
 *  damaged, as agent_spool.c's scan does.
 *
 *  Besides crashes and undefined behaviour: every record accepted must lie
 *  inside the buffer and have a header that ph_spool_disk_header_is
 *  accepts for its batch number and length, and the walk must end (each
 *  record moves the offset forward). A violation stops the fuzzer
 *  (__builtin_trap). */
#include "agent_spool_disk.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    (void)ph_spool_disk_is_segment (data, size);
    size_t off = 0;
    uint32_t n, len;
    while (ph_spool_disk_record_at (data, size, off, &n, &len)) {
        size_t end = off + PH_SPOOL_HEADER + (size_t)len;
        if (end > size || end <= off || !ph_spool_disk_header_is (data + off, n, len))
            __builtin_trap ();
        off = end;
    }
    return 0;
}

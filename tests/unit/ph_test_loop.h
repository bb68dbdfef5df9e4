/*  ph_test_loop: runs a zloop for a while in a unit test, so that the real
 *  reactor of the module under test (its sockets, timers and Redis replies)
 *  does the work between the test's checks. */
#ifndef PH_TEST_LOOP_H
#define PH_TEST_LOOP_H

#include <czmq.h>

/*  A zloop timer handler that ends zloop_start. */
static inline int ph_test_loop_stop (zloop_t *loop, int id, void *arg)
{
    (void)loop, (void)id, (void)arg;
    return -1;
}

/*  Runs loop for ms milliseconds, or less if one of its handlers ends it. */
static inline void ph_test_loop_run_ms (zloop_t *loop, size_t ms)
{
    int t = zloop_timer (loop, ms, 1, ph_test_loop_stop, NULL);
    zloop_start (loop);
    zloop_timer_end (loop, t);
}

#endif

/*  ctl_topics: TopicsRequest (work in progress, issue 4): until the ops land,
 *  every op is answered InvalidRequest. */
#include "ctl.h"

void ctl_topics_request (ctl_req_t *req)
{
    ctl_req_fail (&req, CTL_E_INVALID_REQUEST, "porthole: %s:%.40s is not available yet", "topics",
                  req->env->topics->op);
}

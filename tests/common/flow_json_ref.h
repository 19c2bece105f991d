/* flow_json_ref.h — a flow's summary (detail = 0) or detail (detail = 1) JSON built with jansson:
 * the independent model that flow_json_texts is checked against. New reference or NULL on OOM. */
#ifndef HTTPEEK_FLOW_JSON_REF_H
#define HTTPEEK_FLOW_JSON_REF_H

#include <jansson.h>
#include "../../src/flow.h"

json_t *flow_json_ref(const struct flow *f, int detail);

#endif

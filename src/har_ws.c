/* har_ws.c — see har_ws.h. */
#include "har_ws.h"

#include "store_messages.h"
#include "ws_frame.h"

static int add_message(int from_client, double time, int opcode, unsigned flags,
                       const unsigned char *data, size_t len, int close_code, void *arg)
{
    (void)flags;
    (void)close_code;
    json_t *list = arg;
    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY)
        return 0;
    int text;
    json_t *m = json_object(), *v = store_messages_data(opcode, data, len, &text);
    if (!m || !v) {
        json_decref(m);
        json_decref(v);
        return 0;
    }
    json_object_set_new(m, "type", json_string(from_client ? "send" : "receive"));
    json_object_set_new(m, "time", json_real(time));
    json_object_set_new(m, "opcode", json_integer(opcode));
    json_object_set_new(m, "data", v);
    json_array_append_new(list, m);
    return 0;
}

int har_ws_add(struct store_reader *r, json_t *d, json_t *e)
{
    json_t *ws = json_object_get(d, "ws");
    json_int_t id = json_integer_value(json_object_get(d, "id"));
    if (!json_is_object(ws) || id <= 0)
        return 0;
    json_t *list = json_array();
    if (!list)
        return -1;
    int rc = store_messages_each(r, (uint64_t)id, add_message, list);
    json_object_set_new(e, "_resourceType", json_string("websocket"));
    json_object_set_new(e, "_webSocketMessages", list);
    return rc;
}

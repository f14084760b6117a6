/* control_cmds.c — the commands of the control socket: one request line
 * (JSON) in, one reply line (JSON) out, on the worker thread of the
 * connection that sent it (control.c serves the socket, reads the lines
 * and writes the replies; control_int.h is what the two share).
 *
 * The commands of actr/control.h (actors, plugins, call), and besides them:
 *
 * the state store (actr/store.h):
 *   {"cmd":"store","op":"backup","file":ABSOLUTE_PATH}
 *                      -> {"ok":true,"file":PATH,"bytes":N}
 *   {"cmd":"store","op":"stats"}
 *                      -> {"ok":true,"stats":{"writes":N,"reads":N,"commits":N,
 *                          "errors":N,"queued":N}}
 * (ESTORE when the node has no store open);
 *
 * the cluster's peers (actr/cluster.h): {"cmd":"cluster"} -> {"ok":true,
 * "node":NAME,"peers":[{"name","addr","state","node_id" (16 hex digits),
 * "rtt_ms","bytes_in","bytes_out","frames_in","frames_out","queue_bytes",
 * "queue_frames","connects"}]} (ENOENT when the node is in no cluster);
 *
 * and the plugins' hot swap (actr/loader.h): {"cmd":"plugin","op":"swap",
 * "name":N,"path":ABS}, "rollback", "history" and "unload" (see plugin_cmd).
 *
 * Requests are parsed by actr_json_to_msgpack and read with actr_unpack, so
 * a call's "arg" reaches the actor as the very msgpack bytes of the JSON
 * value, with the same conversions (big integers, "$bin:") as everywhere.
 * Replies are built with jansson, except the call reply, whose payload is
 * already JSON text from actr_msgpack_to_json and is spliced in. Counters
 * beyond the range of a JSON integer (int64) are shown as INT64_MAX.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "actr.h"
#include "actr/cluster.h"
#include "control_int.h"
#include "util.h"

#define CALL_DEFAULT_MS 5000
#define CALL_MAX_MS 3600000
#define KNOWN_CMDS "actors, plugins, call, store, plugin, cluster"

/* ---- building replies ------------------------------------------------------ */

/* A JSON string for s; bytes that are not valid UTF-8 become '?' (names and
 * messages may quote raw input). */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    char *c = strdup(s);
    if (c == NULL)
        return NULL;
    for (char *p = c; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(c);
    free(c);
    return j;
}

/* Serialise j (consumed) into a malloc'ed line; NULL on out of memory. */
static char *dump(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    return s;
}

char *actr__ctl_error(int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *j = json_object();
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "ok", json_false());
    json_object_set_new(j, "error", json_string(actr_err_name(code)));
    json_object_set_new(j, "message", jstr(msg));
    return dump(j);
}

/* A counter as a JSON integer (int64: larger values are shown as the maximum). */
static json_t *ju64(uint64_t v)
{
    return json_integer(v > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)v);
}

/* ---- {"cmd":"actors"} and {"cmd":"plugins"} -------------------------------- */

static void on_actor(void *ud, const actr_actor_info_t *info)
{
    json_t *arr = ud, *a = json_object();
    char ref[32];
    if (a == NULL)
        return;
    snprintf(ref, sizeof(ref), "%u.%u", (unsigned)info->ref.slot, (unsigned)info->ref.gen);
    json_object_set_new(a, "ref", json_string(ref));
    json_object_set_new(a, "name", info->name ? jstr(info->name) : json_null());
    json_object_set_new(a, "type", jstr(info->type ? info->type : "?"));
    json_object_set_new(a, "mailbox", json_integer((json_int_t)info->mailbox));
    json_object_set_new(a, "handled", ju64(info->handled));
    json_array_append_new(arr, a);
}

static void on_plugin(void *ud, const actr_plugin_info_t *info)
{
    json_t *arr = ud, *p = json_object(), *types = json_array();
    if (p == NULL || types == NULL) {
        json_decref(p);
        json_decref(types);
        return;
    }
    json_object_set_new(p, "name", jstr(info->name ? info->name : ""));
    json_object_set_new(p, "version", jstr(info->version ? info->version : ""));
    json_object_set_new(p, "path", jstr(info->path ? info->path : ""));
    for (uint32_t i = 0; i < info->ntypes && info->types != NULL; i++)
        json_array_append_new(types, jstr(info->types[i] ? info->types[i] : ""));
    json_object_set_new(p, "types", types);
    json_object_set_new(p, "actors", ju64(info->actors));
    json_array_append_new(arr, p);
}

static char *list_reply(actr_t *rt, bool plugins)
{
    json_t *j = json_object(), *arr = json_array();
    if (j == NULL || arr == NULL) {
        json_decref(j);
        json_decref(arr);
        return NULL;
    }
    int rc = plugins ? actr_plugin_list(rt, on_plugin, arr) : actr_actors_list(rt, on_actor, arr);
    if (rc != 0) {
        json_decref(j);
        json_decref(arr);
        return actr__ctl_error(rc, "listing %s failed: %s", plugins ? "plugins" : "actors",
                               actr_strerror(rc));
    }
    json_object_set_new(j, "ok", json_true());
    json_object_set_new(j, plugins ? "plugins" : "actors", arr);
    return dump(j);
}

/* ---- the cluster: {"cmd":"cluster"} ---------------------------------------- */

static void on_peer(void *ud, const actr_peer_info_t *p)
{
    json_t *arr = ud, *o = json_object();
    char id[24];
    if (o == NULL)
        return;
    snprintf(id, sizeof(id), "%016llx", (unsigned long long)p->node_id);
    json_object_set_new(o, "name", jstr(p->name));
    json_object_set_new(o, "addr", jstr(p->addr));
    json_object_set_new(o, "state", jstr(p->state));
    json_object_set_new(o, "node_id", json_string(id));
    json_object_set_new(o, "rtt_ms", json_real(p->rtt_ms));
    json_object_set_new(o, "bytes_in", ju64(p->bytes_in));
    json_object_set_new(o, "bytes_out", ju64(p->bytes_out));
    json_object_set_new(o, "frames_in", ju64(p->frames_in));
    json_object_set_new(o, "frames_out", ju64(p->frames_out));
    json_object_set_new(o, "queue_bytes", ju64(p->queue_bytes));
    json_object_set_new(o, "queue_frames", ju64(p->queue_frames));
    json_object_set_new(o, "connects", ju64(p->connects));
    json_array_append_new(arr, o);
}

static char *cluster_reply(actr_t *rt)
{
    json_t *j = json_object(), *arr = json_array();
    if (j == NULL || arr == NULL) {
        json_decref(j);
        json_decref(arr);
        return NULL;
    }
    int rc = actr_cluster_peers(rt, on_peer, arr);
    if (rc != 0) {
        json_decref(j);
        json_decref(arr);
        if (rc == ACTR_ENOENT)
            return actr__ctl_error(rc, "this node is in no cluster (cluster.enabled is false)");
        return actr__ctl_error(rc, "listing the cluster's peers failed: %s", actr_strerror(rc));
    }
    json_object_set_new(j, "ok", json_true());
    json_object_set_new(j, "node", jstr(actr_node_name(rt)));
    json_object_set_new(j, "peers", arr);
    return dump(j);
}

/* ---- {"cmd":"call","name":N,"arg":A,"type":T,"timeout_ms":MS} --------------- */

/* An optional integer field in lo..hi (raw msgpack, NULL when absent). */
static int int_field(const void *raw, size_t len, const char *key, int64_t lo, int64_t hi,
                     int64_t *out, char **reply)
{
    if (raw == NULL)
        return 0;
    int64_t v;
    if (actr_unpack(raw, len, "I", &v) != 0 || v < lo || v > hi) {
        *reply = actr__ctl_error(ACTR_EINVAL, "\"%s\" must be an integer from %lld to %lld", key,
                                 (long long)lo, (long long)hi);
        return ACTR_EINVAL;
    }
    *out = v;
    return 0;
}

/* Wait for the reply to request `id`, in slices so that stop is noticed.
 * Returns 0 and *out, the REQFAIL code, ACTR_ETIMEDOUT or ACTR_ESTOPPED. */
static int await_reply(const atomic_bool *stopping, actr_ctx_t *client, uint64_t id, int timeout_ms,
                       actr_msg_t **out)
{
    /* the runtime's own timeout (a REQFAIL) normally ends the wait; this
     * deadline, a little later, is the backstop */
    uint64_t deadline = actr__now_ms() + (uint64_t)timeout_ms + 1000;
    for (;;) {
        actr_msg_t *m = NULL;
        uint64_t now = actr__now_ms();
        if (now >= deadline)
            return ACTR_ETIMEDOUT;
        if (atomic_load_explicit(stopping, memory_order_relaxed))
            return ACTR_ESTOPPED;
        uint64_t left = deadline - now;
        int rc = actr_client_recv(client,
                                  left < ACTR__CTL_SLICE_MS ? (int)left : ACTR__CTL_SLICE_MS, &m);
        if (rc == ACTR_ETIMEDOUT)
            continue;
        if (rc != 0)
            return rc;
        if (actr_msg_request_id(m) == id) {
            if (actr_msg_type(m) == ACTR_MSG_REQFAIL) {
                rc = actr_msg_error(m);
                actr_msg_free(m);
                return rc ? rc : ACTR_ETIMEDOUT;
            }
            if (actr_msg_is_reply(m)) {
                *out = m;
                return 0;
            }
        }
        actr_msg_free(m); /* nothing else is expected here */
    }
}

static char *call(actr_t *rt, const atomic_bool *stopping, actr_ctx_t **client,
                  const void *const raw[5], const size_t rawlen[5])
{
    const char *name;
    size_t nlen;
    char nm[256];
    int64_t type = 1, timeout = CALL_DEFAULT_MS;
    char *reply = NULL;

    if (raw[1] == NULL)
        return actr__ctl_error(ACTR_EINVAL, "call needs \"name\": the registered name of an actor");
    if (actr_unpack(raw[1], rawlen[1], "s", &name, &nlen) != 0 || nlen == 0 || nlen >= sizeof(nm) ||
        memchr(name, '\0', nlen) != NULL)
        return actr__ctl_error(ACTR_EINVAL, "\"name\" must be a string of 1 to 255 bytes");
    memcpy(nm, name, nlen);
    nm[nlen] = '\0';
    if (int_field(raw[3], rawlen[3], "type", 0, ACTR_MSG_USER_MAX, &type, &reply) != 0 ||
        int_field(raw[4], rawlen[4], "timeout_ms", 1, CALL_MAX_MS, &timeout, &reply) != 0)
        return reply;

    int rc = 0;
    if (*client == NULL && (rc = actr_client_open(rt, client)) != 0)
        return actr__ctl_error(rc, "cannot call \"%s\": %s", nm, actr_strerror(rc));
    actr_ref_t to;
    rc = actr_whereis(*client, nm, &to);
    if (rc == ACTR_ENOENT)
        return actr__ctl_error(ACTR_ENOACTOR, "no actor is registered as \"%s\"", nm);
    if (rc != 0)
        return actr__ctl_error(rc, "cannot look up \"%s\": %s", nm, actr_strerror(rc));

    actr_msg_t *m = NULL;
    /* no "arg": an empty payload; "arg": null is a msgpack nil */
    rc = actr_msg_new(*client, (uint32_t)type, raw[2], raw[2] ? rawlen[2] : 0, &m);
    uint64_t id = 0;
    if (rc == 0)
        rc = actr_request(*client, to, m, (uint32_t)timeout, &id);
    if (rc == ACTR_ENOACTOR)
        return actr__ctl_error(rc, "actor \"%s\" is gone", nm);
    if (rc != 0)
        return actr__ctl_error(rc, "cannot send to \"%s\": %s", nm, actr_strerror(rc));

    actr_msg_t *r = NULL;
    rc = await_reply(stopping, *client, id, (int)timeout, &r);
    if (rc == ACTR_ETIMEDOUT)
        return actr__ctl_error(rc, "\"%s\" did not reply within %lld ms", nm, (long long)timeout);
    if (rc == ACTR_ENOACTOR)
        return actr__ctl_error(rc, "\"%s\" stopped before replying", nm);
    if (rc == ACTR_ESTOPPED)
        return actr__ctl_error(rc, "the control socket is closing");
    if (rc != 0)
        return actr__ctl_error(rc, "call to \"%s\" failed: %s", nm, actr_strerror(rc));

    size_t plen = 0;
    const void *pl = actr_msg_data(r, &plen);
    char *json = NULL;
    rc = plen == 0 ? 0 : actr_msgpack_to_json(pl, plen, &json);
    actr_msg_free(r);
    if (rc == ACTR_EMSGPACK)
        return actr__ctl_error(rc, "the reply of \"%s\" is not one well-formed msgpack value", nm);
    if (rc != 0)
        return actr__ctl_error(rc, "cannot convert the reply of \"%s\" to JSON: %s", nm,
                               actr_strerror(rc));
    const char *body = json ? json : "null";
    size_t blen = strlen(body);
    static const char head[] = "{\"ok\":true,\"reply\":";
    reply = malloc(sizeof(head) + blen + 1);
    if (reply != NULL) {
        memcpy(reply, head, sizeof(head) - 1);
        memcpy(reply + sizeof(head) - 1, body, blen);
        memcpy(reply + sizeof(head) - 1 + blen, "}", 2);
    }
    actr_free(json);
    return reply;
}

/* ---- the state store: {"cmd":"store","op":"backup","file":ABS} | {"cmd":"store","op":"stats"} */

/* The backup runs on this connection's thread (SQLite's online backup, in
 * steps: the store keeps acknowledging writes meanwhile). The file is the
 * node's view of the path, so it must be absolute (`actr ctl` resolves a
 * relative one against its own directory before sending it). */
static char *store_cmd(actr_t *rt, const void *mp, size_t mplen)
{
    const void *rop = NULL, *rfile = NULL;
    size_t roplen = 0, rfilelen = 0, oplen, flen;
    const char *op, *file;
    if (actr_unpack(mp, mplen, "{?s:* ?s:*}", "op", &rop, &roplen, "file", &rfile, &rfilelen) !=
            0 ||
        rop == NULL || actr_unpack(rop, roplen, "s", &op, &oplen) != 0)
        return actr__ctl_error(ACTR_EINVAL, "store needs \"op\": \"backup\" or \"stats\"");
    if (oplen == 5 && memcmp(op, "stats", 5) == 0) {
        actr_store_stats_t st;
        int rc = actr_store_stats(rt, &st);
        if (rc != 0)
            return actr__ctl_error(rc,
                                   "no state store is open on this node (store.enabled is false)");
        json_t *j = json_object(), *o = json_object();
        if (j == NULL || o == NULL) {
            json_decref(j);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "writes", ju64(st.writes));
        json_object_set_new(o, "reads", ju64(st.reads));
        json_object_set_new(o, "commits", ju64(st.commits));
        json_object_set_new(o, "errors", ju64(st.errors));
        json_object_set_new(o, "queued", ju64(st.queued));
        json_object_set_new(j, "ok", json_true());
        json_object_set_new(j, "stats", o);
        return dump(j);
    }
    if (!(oplen == 6 && memcmp(op, "backup", 6) == 0)) {
        int shown = oplen > 64 ? 64 : (int)oplen;
        return actr__ctl_error(ACTR_EINVAL, "unknown store op \"%.*s\" (known: backup, stats)",
                               shown, op);
    }
    char path[PATH_MAX];
    if (rfile == NULL || actr_unpack(rfile, rfilelen, "s", &file, &flen) != 0 || flen == 0 ||
        flen >= sizeof(path) || memchr(file, '\0', flen) != NULL)
        return actr__ctl_error(ACTR_EINVAL, "store backup needs \"file\": a path of 1 to %d bytes",
                               PATH_MAX - 1);
    memcpy(path, file, flen);
    path[flen] = '\0';
    if (path[0] != '/')
        return actr__ctl_error(
            ACTR_EINVAL, "store backup: \"file\" must be an absolute path (got \"%s\")", path);
    actr_error_t err;
    memset(&err, 0, sizeof(err));
    int rc = actr_store_backup(rt, path, &err);
    if (rc != 0 && err.msg[0] != '\0' && strstr(err.msg, path) != NULL)
        return actr__ctl_error(rc, "store backup failed: %s", err.msg);
    if (rc != 0)
        return actr__ctl_error(rc, "store backup to %s failed: %s", path,
                               err.msg[0] ? err.msg : actr_strerror(rc));
    struct stat sb;
    json_t *j = json_object();
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "ok", json_true());
    json_object_set_new(j, "file", jstr(path));
    if (stat(path, &sb) == 0)
        json_object_set_new(j, "bytes", ju64((uint64_t)sb.st_size));
    return dump(j);
}

/* ---- plugins: {"cmd":"plugin","op":"swap"|"rollback"|"history"|"unload", ...} ----
 *   {"op":"swap","name":N,"path":ABSOLUTE_PATH} and {"op":"rollback","name":N}
 *        -> {"ok":true,"name":N,"from":V,"to":V,"actors":N,"pause_us":N}
 *   {"op":"history"[,"name":N]}
 *        -> {"ok":true,"events":[{"time_ms","plugin","action","from","to","path",
 *            "code","error","reason","actors","pause_us"}, ...]} (oldest first)
 *   {"op":"unload","name":N[,"force":true]} -> {"ok":true,"name":N}
 * Swaps, rollbacks and forced unloads block this connection's thread until
 * they are done (bounded by the loader's own 5 s waits). */

/* A string field into buf (1..cap-1 bytes, no NUL); *present says whether
 * the key was there. Returns 0, or ACTR_EINVAL with *reply set. */
static int pstr(const void *mp, size_t mplen, const char *key, char *buf, size_t cap, int *present,
                char **reply)
{
    const void *raw = NULL;
    size_t rawlen = 0, n = 0;
    const char *s;
    *present = 0;
    buf[0] = '\0';
    if (actr_unpack(mp, mplen, "{?s:*}", key, &raw, &rawlen) != 0 || raw == NULL)
        return 0;
    if (actr_unpack(raw, rawlen, "s", &s, &n) != 0 || n == 0 || n >= cap ||
        memchr(s, '\0', n) != NULL) {
        *reply =
            actr__ctl_error(ACTR_EINVAL, "\"%s\" must be a string of 1 to %zu bytes", key, cap - 1);
        return ACTR_EINVAL;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    *present = 1;
    return 0;
}

static char *swap_reply(const char *name, int rc, const actr_swap_info_t *info,
                        const actr_error_t *err, const char *what)
{
    if (rc != 0)
        return actr__ctl_error(rc, "%s", err->msg[0] ? err->msg : actr_strerror(rc));
    json_t *j = json_object();
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "ok", json_true());
    json_object_set_new(j, "name", jstr(name));
    json_object_set_new(j, "op", json_string(what));
    json_object_set_new(j, "from", jstr(info->from_version));
    json_object_set_new(j, "to", jstr(info->to_version));
    json_object_set_new(j, "actors", ju64(info->actors));
    json_object_set_new(j, "pause_us", ju64(info->pause_us));
    return dump(j);
}

static void on_event(void *ud, const actr_plugin_event_t *ev)
{
    json_t *arr = ud, *e = json_object();
    if (e == NULL)
        return;
    json_object_set_new(e, "time_ms", json_integer((json_int_t)ev->time_ms));
    json_object_set_new(e, "plugin", jstr(ev->plugin));
    json_object_set_new(e, "action", jstr(ev->action));
    json_object_set_new(e, "from", jstr(ev->from_version));
    json_object_set_new(e, "to", jstr(ev->to_version));
    json_object_set_new(e, "path", jstr(ev->path));
    json_object_set_new(e, "code", json_integer(ev->code));
    json_object_set_new(e, "error", json_string(ev->code ? actr_err_name(ev->code) : "OK"));
    json_object_set_new(e, "reason", jstr(ev->reason));
    json_object_set_new(e, "actors", ju64(ev->actors));
    json_object_set_new(e, "pause_us", ju64(ev->pause_us));
    json_array_append_new(arr, e);
}

static char *plugin_cmd(actr_t *rt, const void *mp, size_t mplen)
{
    char op[16], name[256], path[PATH_MAX];
    int has_op, has_name, has_path;
    char *reply = NULL;
    actr_error_t err;
    actr_swap_info_t info;
    int rc;

    if (pstr(mp, mplen, "op", op, sizeof(op), &has_op, &reply) != 0 ||
        pstr(mp, mplen, "name", name, sizeof(name), &has_name, &reply) != 0 ||
        pstr(mp, mplen, "path", path, sizeof(path), &has_path, &reply) != 0)
        return reply;
    if (!has_op)
        return actr__ctl_error(ACTR_EINVAL,
                               "plugin needs \"op\": one of swap, rollback, history, unload");
    memset(&err, 0, sizeof(err));
    memset(&info, 0, sizeof(info));
    if (strcmp(op, "history") == 0) {
        json_t *j = json_object(), *arr = json_array();
        if (j == NULL || arr == NULL) {
            json_decref(j);
            json_decref(arr);
            return NULL;
        }
        rc = actr_plugin_history(rt, has_name ? name : NULL, on_event, arr);
        if (rc != 0) {
            json_decref(j);
            json_decref(arr);
            return actr__ctl_error(rc, "cannot read the plugin history: %s",
                                   rc > -4000 ? strerror(-rc) : actr_strerror(rc));
        }
        json_object_set_new(j, "ok", json_true());
        json_object_set_new(j, "events", arr);
        return dump(j);
    }
    if (strcmp(op, "swap") != 0 && strcmp(op, "rollback") != 0 && strcmp(op, "unload") != 0)
        return actr__ctl_error(
            ACTR_EINVAL, "unknown plugin op \"%s\" (known: swap, rollback, history, unload)", op);
    if (!has_name)
        return actr__ctl_error(ACTR_EINVAL, "plugin %s needs \"name\": the plugin's name", op);
    if (strcmp(op, "swap") == 0) {
        if (!has_path || path[0] != '/')
            return actr__ctl_error(ACTR_EINVAL,
                                   "plugin swap needs \"path\": the new file's absolute path");
        rc = actr_plugin_swap(rt, name, path, &info, &err);
        return swap_reply(name, rc, &info, &err, "swap");
    }
    if (strcmp(op, "rollback") == 0) {
        rc = actr_plugin_rollback(rt, name, &info, &err);
        return swap_reply(name, rc, &info, &err, "rollback");
    }
    const void *rforce = NULL;
    size_t rforcelen = 0;
    bool force = false;
    if (actr_unpack(mp, mplen, "{?s:*}", "force", &rforce, &rforcelen) != 0 ||
        (rforce != NULL && actr_unpack(rforce, rforcelen, "b", &force) != 0))
        return actr__ctl_error(ACTR_EINVAL, "\"force\" must be true or false");
    rc = actr_plugin_unload(rt, name, force ? 1 : 0, &err);
    if (rc != 0)
        return actr__ctl_error(rc, "%s", err.msg[0] ? err.msg : actr_strerror(rc));
    json_t *j = json_object();
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "ok", json_true());
    json_object_set_new(j, "name", jstr(name));
    return dump(j);
}

/* ---- dispatch -------------------------------------------------------------- */

char *actr__ctl_handle(actr_t *rt, const atomic_bool *stopping, actr_ctx_t **client,
                       const char *line)
{
    actr_error_t err;
    void *mp = NULL;
    size_t mplen = 0;
    const char *cmd;
    size_t clen;
    char *reply;

    if (line[strspn(line, " \t")] == '\0')
        return actr__ctl_error(ACTR_EINVAL, "empty request: send one JSON object per line, e.g. "
                                            "{\"cmd\":\"actors\"}");
    int rc = actr_json_to_msgpack(line, &mp, &mplen, &err);
    if (rc != 0)
        return actr__ctl_error(rc, "bad request: %s", err.msg);

    static const char *const keys[5] = {"cmd", "name", "arg", "type", "timeout_ms"};
    const void *raw[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t rawlen[5] = {0, 0, 0, 0, 0};
    rc = actr_unpack(mp, mplen, "{?s:* ?s:* ?s:* ?s:* ?s:*}", keys[0], &raw[0], &rawlen[0], keys[1],
                     &raw[1], &rawlen[1], keys[2], &raw[2], &rawlen[2], keys[3], &raw[3],
                     &rawlen[3], keys[4], &raw[4], &rawlen[4]);
    if (rc != 0) {
        reply = actr__ctl_error(ACTR_EINVAL, "a request must be a JSON object with a \"cmd\"");
    } else if (raw[0] == NULL) {
        reply = actr__ctl_error(ACTR_EINVAL, "missing \"cmd\" (one of: " KNOWN_CMDS ")");
    } else if (actr_unpack(raw[0], rawlen[0], "s", &cmd, &clen) != 0) {
        reply = actr__ctl_error(ACTR_EINVAL, "\"cmd\" must be a string (one of: " KNOWN_CMDS ")");
    } else if (clen == 6 && memcmp(cmd, "actors", 6) == 0) {
        reply = list_reply(rt, false);
    } else if (clen == 7 && memcmp(cmd, "plugins", 7) == 0) {
        reply = list_reply(rt, true);
    } else if (clen == 4 && memcmp(cmd, "call", 4) == 0) {
        reply = call(rt, stopping, client, raw, rawlen);
    } else if (clen == 5 && memcmp(cmd, "store", 5) == 0) {
        reply = store_cmd(rt, mp, mplen);
    } else if (clen == 6 && memcmp(cmd, "plugin", 6) == 0) {
        reply = plugin_cmd(rt, mp, mplen);
    } else if (clen == 7 && memcmp(cmd, "cluster", 7) == 0) {
        reply = cluster_reply(rt);
    } else {
        int shown = clen > 64 ? 64 : (int)clen;
        reply = actr__ctl_error(ACTR_EINVAL, "unknown command \"%.*s%s\" (known: " KNOWN_CMDS ")",
                                shown, cmd, clen > 64 ? "..." : "");
    }
    actr_free(mp);
    return reply;
}

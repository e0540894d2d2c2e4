/* Internal to the plugin host (core/plugin/plugins*.c); see core/plugin/plugins.h.
 *
 * Who does what:
 *   plugins.c          plugin lifecycle (start, reload, free), events
 *   plugins_task.c     entries: one coroutine each, errors, waits
 *   plugins_base.c     the base functions the host adds to the sandbox's
 *                      (core/lua/sandbox.c): require of the plugin's own
 *                      modules, print to its log
 *   plugins_api.c      the relais table: registering, channels, entries
 *                      arguments and results
 *   plugins_route.c    plugin routes on the HTTP server
 *   plugins_lib.c      relais.log/time/sms/problem, the network (yields),
 *                      outbox and people
 *   plugins_db.c       relais.db, plugin migrations
 *   plugins_authz.c    the SQLite authorizer: ownership registered in
 *                      plugin_objects, reserved names, allowed functions
 *   plugins_authz_steps.c  plugin migration steps recording what they
 *                      create; adoption of a database's older objects
 *   plugins_dbread.c   relais.db.query of GET routes on the readers' threads
 *   plugins_views.c    the read models: core data only through relais_v1_*
 *   plugins_codec.c    relais.json, relais.url; cJSON → Lua; buffers
 *   plugins_crypto.c   relais.crypto
 *   plugins_template.c relais.template
 *   plugins_static.c   relais.static: a folder of files served under a prefix
 *   plugins_gateway.c  relais.composer and relais.gateway: a channel written
 *                      by one plugin and sent by the gateway its config names
 *   plugins_config.c   relais.config (which table a plugin gets) and
 *                      relais.config_check
 *   plugins_xlsx.c     relais.xlsx: Excel workbooks (libxlsxwriter)
 *
 * Each plugin's state is the one sandbox's (core/lua/sandbox.h: the capped
 * allocator, the budget and its hook, the libraries, the price of C work,
 * the environment), with PLUGINS_LIMITS; each task is a meter of it.
 *
 * Lua errors and C memory: any Lua API call that allocates may raise (a
 * plugin's heap is capped), so host code touches a lua_State only inside a
 * protected call (a task's coroutine, or lua_pcall on the main thread), and
 * never holds malloc'd memory across a call that may raise.
 */
#ifndef RELAIS_PLUGINS_INTERNAL_H
#define RELAIS_PLUGINS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>
#include <lua.h>

#include "outbox.h"
#include "plugins.h"
#include "sandbox.h"

struct app;
struct http_req;
struct net_job;
struct net_result;
struct ptemplate;
struct live_file;
struct pview_set;
struct pobject;
struct pfk;
struct pvread;
struct reader;
struct reader_job;
struct reader_lease;
struct reader_result;

#define PLUGINS_HOOK_EVERY 1000      /* instructions between budget checks */
#define PLUGINS_MAX_FILE   (1u << 20) /* plugin.lua, modules, templates, SQL */

enum task_kind { TASK_LOAD, TASK_HOOK, TASK_ROUTE, TASK_CHANNEL, TASK_COMPOSE, TASK_GATEWAY };

#define PLUGINS_ALLOC_BYTES 32       /* bytes allocated per instruction charged */
#define PLUGINS_SLICE_MS    500      /* CPU time per slice, per PLUGINS_BUDGET */
#define PLUGINS_LOG_MAX     2000     /* bytes of one plugin log line */

struct reply_header {
    const char *name, *value;
};

/* One entry into a plugin, run in its own coroutine CO. */
struct task {
    struct plugin *pl;
    enum task_kind kind;
    lua_State *co;
    int ref;                  /* registry reference pinning CO */
    int fn_ref;               /* the function to call (not for TASK_LOAD) */
    struct sandbox_meter meter;   /* its budget (meter.budget: 0 is PLUGINS_BUDGET) */
    int waiting;              /* parked in relais.http.request / smtp.send */
    int abandoned;            /* dropped by a reload or shutdown */
    int in_tx;                /* a hook inside a change's transaction: may not wait */
    int *failed;              /* set to 1 when the entry fails (in_tx hooks) */
    struct net_job *job;      /* the transfer it waits for */
    const struct net_result *res;   /* delivered, during one resume */
    struct reader_lease *lease;     /* its snapshot on a reader (GET routes) */
    struct reader_job *rjob;        /* the query it waits for */
    const struct reader_result *rres;   /* delivered, during one resume */
    const char *bad;          /* why its result was refused (host text) */
    /* Inputs, valid during the first slice only. */
    const char *event;
    const cJSON *payload;
    const struct outbox_msg *msg;
    /* TASK_ROUTE */
    struct http_req *req;
    int deferred;
    int r_status;
    const char *r_ctype, *r_body;
    size_t r_len;
    const struct reply_header *r_headers;
    int r_nheaders;
    /* TASK_CHANNEL, TASK_COMPOSE, TASK_GATEWAY */
    outbox_done_fn done;
    void *token;
    struct outbox_result c_res;
    /* TASK_COMPOSE, TASK_GATEWAY: the message for the gateway (owned; the
     * notification's part is made before the composer runs, the composer's
     * parts are added to it), its channel, and whether the composer gave
     * parts (1) or a result of its own (0). */
    cJSON *gmsg;
    const char *channel;
    int composed;
    struct task *prev, *next;
};

struct proute {
    int methods;
    char *pattern;
    int roles;
    int ref;
    long budget;              /* instructions per call; 0: PLUGINS_BUDGET */
};

/* relais.route{body = "file"}: default and largest max_body; the largest
 * budget a route may ask for (a long import of a spooled file). */
#define PLUGINS_SPOOL_DEFAULT (64 * 1024 * 1024)
#define PLUGINS_SPOOL_MAX     (1024 * 1024 * 1024)
#define PLUGINS_BUDGET_MAX    2000000000L

struct pchannel {
    struct plugin *pl;
    char *name;
    int ref;
    int registered;           /* outbox_set_sender succeeded */
};

struct phook {
    char *event;
    int ref;
};

/* relais.gateway: a sender of CHANNEL named NAME (plugins_gateway.c). */
struct pgateway {
    struct plugin *pl;
    const char *channel;      /* "sms" or "email" (static) */
    char *name;
    int ref;
    char *from, *from_name;   /* email: the sender it declared, or NULL */
};

/* relais.composer: the writer of CHANNEL's messages. */
struct pcomposer {
    struct plugin *pl;
    const char *channel;      /* "sms" or "email" (static) */
    int ref;
    int registered;           /* the outbox sends CHANNEL through it */
};

struct plugin {
    struct plugins *host;
    char *name;               /* "sms-ovh" */
    char *key;                /* "sms_ovh": its config table, and the prefix
                                 of its SQL tables (sms_ovh_…) */
    char *config_source;      /* the config key relais.config came from */
    char *config_error;       /* the first relais.config_check failure while
                                 it loaded (a mistake in the config file) */
    char *dir;                /* PLUGINS_DIR/NAME */
    char *module;             /* "plugin NAME", for log lines */
    lua_State *L;
    struct sandbox sb;        /* L's: its memory, its _ENV, the meter charged
                                 (the entry running now, innermost) */
    int loaded;               /* plugin.lua ran to its end */
    int dead;                 /* failed: its state is closed */
    struct task *tasks;       /* every live entry */
    struct proute *routes;
    size_t nroutes;
    struct pchannel **channels;
    size_t nchannels;
    struct phook *hooks;
    size_t nhooks;
    struct pgateway **gateways;
    size_t ngateways;
    struct pcomposer **composers;
    size_t ncomposers;
    struct ptemplate *templates;
    struct pstatic **statics; /* relais.static folders, read at load */
    size_t nstatics;
    int xlsx_open;            /* relais.xlsx workbooks not yet closed or collected */
};

struct plugins {
    struct app *app;
    struct plugin **list;
    size_t n;
    struct plugin *db_plugin; /* whose SQL is being compiled (authorizer) */
    int db_migrating;
    struct pobject *objs;     /* plugin_objects, as the authorizer reads it */
    size_t nobjs;
    struct pfk *fks;          /* the foreign keys of the plugins' tables */
    size_t nfks;
    struct pvread *vreads;    /* what the plugins' views read themselves */
    size_t nvreads;
    char **snap;              /* the schema's names before a migration step */
    size_t nsnap;
    int db_hooked;            /* the authorizer is installed */
    int depth;                /* plugins_emit nesting */
    struct live_file *live_files; /* spooled bodies of routes running (plugins_csv.c) */
    struct pview_set *views;      /* what the read models read (plugins_views.c) */
    struct reader *reader;        /* GET routes' queries off the loop; NULL: on it */
    unsigned long file_serial;    /* the last handle's serial */
    size_t cap;               /* room in LIST */
    int starting;             /* inside plugins_start: config errors stop it */
    char fatal[512];          /* why the start must stop, or "" */
};

/* --- plugins.c ----------------------------------------------------------- */
struct plugin *plugin_of(lua_State *L);
/* The entry running in L's plugin (the meter its sandbox charges), or NULL. */
struct task *task_running(lua_State *L);
/* Reads PATH (at most PLUGINS_MAX_FILE bytes) into a malloc'd buffer. 0, or
 * -1 with *why set to a static reason. */
int plugin_read_file(const char *path, char **buf, size_t *len, const char **why);
/* Logs MSG as an error of PL and counts it. */
void plugin_error(struct plugin *pl, const char *msg);
/* Runs FN(UD) in a protected call on PL's main thread. 0, or -1 with the
 * error message copied into ERR (may be NULL). */
int plugin_main_call(struct plugin *pl, lua_CFunction fn, void *ud, char *err, size_t n);
/* The outcome of PL's plugin.lua (its loading task ended). */
void plugin_load_finished(struct plugin *pl, int ok);
/* Adds the plugin NAME to the list and loads it (a gateway a channel names
 * without listing it). NULL without memory. */
struct plugin *plugin_add(struct plugins *p, const char *name);
/* The plugin called NAME in the list (loaded or not), or NULL. */
struct plugin *plugin_find(struct plugins *p, const char *name);
/* Records MSG as the reason the start must stop (the first one is kept). */
void plugins_fatal(struct plugins *p, const char *msg);

/* --- plugins_task.c ---------------------------------------------------------- */
/* An entry of KIND calling the function FN_REF; NULL without memory. The
 * caller fills the kind's inputs, then task_start runs its first slice:
 * 1 it waits, 0 it finished (T is gone, its outcome delivered), -1 it could
 * not start (T is freed, nothing ran, nothing delivered). */
struct task *task_new(struct plugin *pl, enum task_kind kind, int fn_ref);
int task_start(struct task *t);
/* Drops a waiting entry: cancels its transfer, tells its caller WHY.
 * CLOSE runs its coroutine's pending to-be-closed variables (not when the
 * whole state is about to be closed). task_abandon is task_drop(…, 1). */
void task_drop(struct task *t, const char *why, int close);
void task_abandon(struct task *t, const char *why);
/* The continuation of relais.http.request / smtp.send. */
void task_net_done(const struct net_result *res, void *arg);
/* The continuation of a query run on a reader (plugins_dbread.c). */
void task_read_done(const struct reader_result *res, void *arg);

/* --- plugins_base.c ---------------------------------------------------------- */
/* Adds print (a line of the plugin's log) and require (plugins/NAME/x.lua,
 * run once, its value kept) to L's globals, after sandbox_open. */
void pbase_open(lua_State *L);

/* --- plugins_api.c -------------------------------------------------------- */
/* Builds the relais table into global "relais". Protected call. */
void papi_open(lua_State *L, struct plugin *pl);
/* Pushes the arguments of T's function (first slice); returns how many. */
int papi_push_args(lua_State *L, struct task *t);
/* Checks the value T's function returned (at the top of L) and records it
 * in T; returns how many values to keep on L's stack (they anchor the
 * strings T points to). Raises on a bad result. */
int papi_collect(lua_State *L, struct task *t);
/* Delivers T's outcome: its collected result when ERR is NULL, else the
 * failure ERR (no personal data in it). */
void papi_deliver(struct task *t, const char *err);
/* Once plugin.lua has run: hands PL's channels to the outbox. 0 or -1. */
int papi_activate(struct plugin *pl);
/* Removes PL's routes and channel senders. */
void papi_unregister(struct plugin *pl);

/* The loading entry, or raises: FN may only be called while loading. */
struct task *papi_loading(lua_State *L, const char *fn);
/* Checks a {status, provider_id, segments, error} result at the top of L
 * into T->c_res (what relais.channel and relais.gateway functions return);
 * leaves one anchor on the stack and returns 1. Raises on a bad result. */
int papi_collect_result(lua_State *L, struct task *t);

/* Raises when the running entry may not write: a route that has waited. */
void papi_check_write(lua_State *L, const char *what);
/* Records WHY T's result is refused and raises it. */
int papi_bad_result(lua_State *L, struct task *t, const char *why);

/* --- plugins_gateway.c --------------------------------------------------------- */
int pgw_l_gateway(lua_State *L);
int pgw_l_composer(lua_State *L);
/* 1 when a composer serves CHANNEL (then relais.channel may not). */
int pgw_composed(struct plugins *p, const char *channel);
/* Pushes the composer's argument (the notification) for T. */
void pgw_push_compose_args(lua_State *L, struct task *t);
/* Collects what a composer returned: parts for the gateway, or a result. */
int pgw_collect_compose(lua_State *L, struct task *t);
/* Collects a gateway's result (the recipient masked in its reason). */
int pgw_collect_gateway(lua_State *L, struct task *t);
/* Delivers a composer's outcome: starts the gateway with its parts, or
 * hands its result or failure ERR to the outbox. */
void pgw_deliver_compose(struct task *t, const char *err);
/* Once the listed plugins have loaded: loads the gateways the channels
 * name that no plugin registered, then hands each composed channel to the
 * outbox when its gateway is there. -1 when one is missing (logged, and
 * fatal at start). */
int pgw_settle(struct plugins *p);
/* Removes PL's gateways and composers (and the composers' senders). */
void pgw_unregister(struct plugin *pl);
/* S with the recipient TO and every run of six digits or more (a phone
 * number written otherwise) masked, and control characters made spaces:
 * for reasons, which are stored and listed, and log lines. Malloc'd, or
 * NULL without memory. */
char *pgw_mask(const char *s, const char *to, int sms);
/* The recipient of T's message when T composes or sends one, else NULL. */
const char *pgw_recipient(const struct task *t);

/* --- plugins_config.c ---------------------------------------------------------- */
/* Pushes PL's relais.config and records where it came from. Protected. */
void pconfig_push(lua_State *L, struct plugin *pl);
int pconfig_l_check(lua_State *L);

/* --- plugins_route.c --------------------------------------------------------- */
/* The enum http_method of "GET", "POST"…, or 0. */
int proute_method(const char *name);
/* The http_handler of every plugin route. */
void proute_handler(struct http_req *req);
void proute_push_req(lua_State *L, struct http_req *req);
int proute_collect(lua_State *L, struct task *t);
void proute_deliver(struct task *t, const char *err);

/* --- plugins_lib.c ---------------------------------------------------------- */
/* Adds log, now, time, sms, http, smtp, outbox, people to the table on top. */
void plib_open(lua_State *L);

/* --- plugins_authz.c --------------------------------------------------------- */
struct store;
struct store_migration;
/* The authorizer on the store's connection, the registry loaded. 0 or -1. */
int pdb_install(struct plugins *p);
void pdb_uninstall(struct plugins *p);
/* 1 when plugin objects named KEY_… (KEY: a plugin's key, its name with
 * '-' read as '_') would reach a core name, prefix or read model. */
int pauthz_name_reserved(const char *key);
/* For plugins_authz_steps.c: a core name or prefix (or SQLite's); KEY_…;
 * a name a plugin with a longer key than KEY may claim; SQLite's own
 * objects; the plugin owning NAME (NULL: none); plugin_objects read into
 * P's registry, with the foreign keys of the tables (core's name; 0/-1). */
int pauthz_reserved(const char *name);
int pauthz_namespaced(const char *key, const char *name);
int pauthz_longer_key_claims(const struct plugins *p, const char *key, const char *name);
int pauthz_internal(const char *name);
const char *pauthz_owner(const struct plugins *p, const char *name);
int pauthz_load_registry(struct plugins *p, struct store *st);
/* The authorizer's rule for the SQL of plugin WHO (KEY its key, MIG: in
 * one of its migration steps), SQLITE_OK or SQLITE_DENY; WHO NULL is the
 * core's own SQL (judged only inside a plugin's trigger). It reads only the
 * registry, the read models and, with MIG, the step's snapshot: none of
 * them changes outside load_all (the plugins' migrations), while no reader
 * runs, so the readers' threads call it too, with MIG 0 (pread_start). */
int pauthz_judge(const struct plugins *p, const char *who, const char *key, int mig,
                 int action, const char *a, const char *b, const char *source);
/* 1 when NAME is a view a plugin offers to the others: registered to it
 * and named KEY_v<digits>_… (KEY its key). */
int pauthz_offered(const struct plugins *p, const char *name);
/* For an offered VIEW: the first thing it reads itself that is not a
 * table of its owner's (a read model shows only its owner's tables), or
 * NULL. */
const char *pauthz_offered_reads_other(const struct plugins *p, const char *view);

/* --- plugins_authz_steps.c ------------------------------------------------------ */
/* A migration step of plugin ARG (store_step_fn): runs its SQL in the
 * plugin's name and records what it created and dropped. */
int pauthz_step(struct store *st, const struct store_migration *step, void *arg, char **err);
/* Registers the KEY_… objects of a plugin migrated before ownership was
 * recorded (once): those no other plugin's longer key prefixes. 0, or -1
 * with *ERR (malloc'd). */
int pauthz_adopt(struct plugin *pl, char **err);

/* --- plugins_db.c ------------------------------------------------------------ */
/* What a plugin's SQL costs, on the loop (plugins_db.c) and on the readers
 * (plugins_dbread.c) alike: PDB_OP_COST instructions of its budget per
 * operation of SQLite's virtual machine, counted every PDB_PROGRESS_OPS
 * operations; no string or blob longer than PDB_MAX_LENGTH bytes. */
#define PDB_PROGRESS_OPS 1000
#define PDB_OP_COST      8
#define PDB_MAX_LENGTH   (16 << 20)
void pdb_open(lua_State *L);
/* relais.db.query on the loop's connection, with the call's arguments at
 * 1..top: what a query that cannot leave the loop runs. */
int pdb_query_here(lua_State *L);
/* Applies PL's migrations/NNN_*.sql. 0, or -1 with *err (malloc'd). */
int pdb_migrate(struct plugin *pl, char **err);

/* --- plugins_dbread.c -------------------------------------------------------- */
/* 1 when relais.db.query may run off the loop here: in a GET route's own
 * coroutine, where it can yield, with the readers running. */
int pread_offloadable(lua_State *L);
/* relais.db.query on a reader: submits, yields, returns the rows. */
int pread_query(lua_State *L);
/* Ends T's snapshot (its lease); the next query opens another. NULL is
 * fine. */
void pread_end(struct task *t);
/* Starts and stops the readers of P (on its store's file). */
void pread_start(struct plugins *p);
void pread_stop(struct plugins *p);

/* --- plugins_views.c ----------------------------------------------------------- */
/* Learns which core columns the relais_v1_* views read (into P->views),
 * compiling each under an authorizer of its own: call before the plugins'
 * authorizer is installed. 0 or -1 (logged). */
int pview_learn(struct plugins *p);
void pview_free(struct pview_set *set);
/* The authorizer's rule for a core table: 1 when a plugin may read COLUMN
 * of TABLE with SOURCE (the innermost view, trigger or common table
 * expression, or NULL) as the cause: through a view that shows it. */
int pview_read_ok(const struct plugins *p, const char *table, const char *column,
                  const char *source);
/* 1 when a read model shows COLUMN of core table TABLE. */
int pview_shows(const struct plugins *p, const char *table, const char *column);

/* --- plugins_codec.c ---------------------------------------------------------- */
void pcodec_open(lua_State *L);
/* Pushes JSON as a Lua value; NULLS: 1 keeps JSON null as relais.json.null,
 * 0 drops it (a nil field). Raises when too deep. */
void pcodec_push_json(lua_State *L, const cJSON *json, int nulls);
/* Encodes the value at IDX as JSON and pushes the text. Raises on a value
 * JSON cannot hold. */
void pcodec_encode(lua_State *L, int idx);
/* Parses an application/x-www-form-urlencoded text into a new table; a
 * repeated name gets a list of its values. */
void pcodec_push_form(lua_State *L, const char *s, size_t len);
/* T[KEY] = VALUE (the value on top, popped), or a list of values when KEY
 * repeats. T is an absolute index. */
void pcodec_add_multi(lua_State *L, int t, const char *key, size_t klen);
/* A userdata slot whose pointer FREE_FN releases when the slot is
 * collected: C memory held across calls that may raise. Pushed on L. */
void **pcodec_box(lua_State *L, void (*free_fn)(void *));
/* Releases the boxed pointer now. */
void pcodec_unbox(void **slot);

/* A growing byte buffer inside a Lua userdata at a fixed stack slot, so
 * that it counts against the plugin's memory cap and a Lua error frees it. */
struct sbuf {
    lua_State *L;
    int idx;
    char *p;
    size_t len, cap;
};
void sbuf_init(struct sbuf *b, lua_State *L);
void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_adds(struct sbuf *b, const char *s);
/* Replaces the buffer's slot with the text as a Lua string. */
void sbuf_finish(struct sbuf *b);

/* --- plugins_csv.c ------------------------------------------------------------- */
/* Adds relais.csv to the table on top. */
void pcsv_open(lua_State *L);
/* Pushes a handle on the spooled body FD (LEN bytes), for req.body_file. */
void pcsv_push_file(lua_State *L, int fd, size_t len);
/* Makes every handle on FD unusable: the route is over, FD will close. */
void pcsv_forget_file(struct plugins *host, int fd);
/* The same for every file (the host is freed). */
void pcsv_forget_all(struct plugins *host);

/* --- plugins_crypto.c --------------------------------------------------------- */
void pcrypto_open(lua_State *L);

/* --- plugins_template.c --------------------------------------------------------- */
void ptemplate_open(lua_State *L);
void ptemplate_free_all(struct plugin *pl);

/* --- plugins_xlsx.c ---------------------------------------------------------------- */
/* Adds relais.xlsx to the table on top. */
void pxlsx_open(lua_State *L);

/* --- plugins_static.c ------------------------------------------------------------ */
/* relais.static(prefix, folder [, {headers = {…}}]): reads every file of
 * plugins/NAME/FOLDER now and adds a GET route for each under PREFIX. */
int pstatic_l_static(lua_State *L);
/* Removes PL's static routes and frees the files (unload, reload). */
void pstatic_unregister(struct plugin *pl);
/* The http_handler of every static file. */
void pstatic_handler(struct http_req *req);

#endif

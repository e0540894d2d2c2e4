/* ops — the core's routes on one running Relais: the domain's resources,
 * the beneficiaries' pages, the outbox's API, and the operations endpoints
 * /health and /metrics (with gauges read from the database at each scrape).
 *
 * The top of the core: it includes every subsystem below, and nothing
 * includes it but the program (core/ops/cli_serve.c). */
#ifndef RELAIS_OPS_H
#define RELAIS_OPS_H

struct app;

/* Registers every core route (operations + domain) on APP->http, and the
 * database gauges on the metrics. 0 or -1 (logged). */
int ops_register_routes(struct app *app);

#endif

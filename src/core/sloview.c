/* The SLO views: objectives, status rows, violations (see slo.h). */
#include "core/slo.h"
#include "core/util.h"

static const struct view_col def_cols[] = {
	[SD_SWARM] = { "swarm", COL_TEXT, 0 },
	[SD_P99_MS] = { "p99_ms", COL_NUM, 0 },
	[SD_SUCCESS] = { "success", COL_NUM, 0 },
	[SD_AVAILABILITY] = { "availability", COL_NUM, 0 },
	[SD_WINDOW] = { "window", COL_TEXT, 0 },
	[SD_UPDATED] = { "updated", COL_TIME, 0 },
	[SD_BY] = { "by", COL_TEXT, COL_WIDE },
	[SD_CREATED] = { "created", COL_TIME, COL_WIDE },
	[SD_REVISION] = { "revision", COL_NUM, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(def_cols) == SD__COUNT, "one column per slo_def_col");

static const struct view_col status_cols[] = {
	[SS_SWARM] = { "swarm", COL_TEXT, 0 },
	[SS_OBJECTIVE] = { "objective", COL_TEXT, 0 },
	[SS_TARGET] = { "target", COL_NUM, 0 },
	[SS_MEASURED] = { "measured", COL_NUM, 0 },
	[SS_MET] = { "met", COL_BOOL, 0 },
	[SS_SAMPLES] = { "samples", COL_NUM, 0 },
	[SS_BUDGET_LEFT] = { "budget_left", COL_NUM, 0 },
	[SS_BURN_5M] = { "burn_5m", COL_NUM, COL_WIDE },
	[SS_BURN_30M] = { "burn_30m", COL_NUM, COL_WIDE },
	[SS_BURN_1H] = { "burn_1h", COL_NUM, 0 },
	[SS_BURN_6H] = { "burn_6h", COL_NUM, 0 },
	[SS_BURN_3D] = { "burn_3d", COL_NUM, COL_WIDE },
	[SS_ALERT] = { "alert", COL_TEXT, 0 },
	[SS_VERDICT] = { "verdict", COL_TEXT, 0 },
	[SS_WINDOW] = { "window", COL_TEXT, COL_WIDE },
	[SS_REASON] = { "reason", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(status_cols) == SS__COUNT, "one column per slo_status_col");

static const struct view_col viol_cols[] = {
	[SV_SWARM] = { "swarm", COL_TEXT, 0 },
	[SV_OBJECTIVE] = { "objective", COL_TEXT, 0 },
	[SV_EPISODE] = { "episode", COL_NUM, 0 },
	[SV_STATE] = { "state", COL_TEXT, 0 },
	[SV_OPENED] = { "opened", COL_TIME, 0 },
	[SV_CLOSED] = { "closed", COL_TIME, 0 },
	[SV_MEASURED] = { "measured", COL_NUM, COL_WIDE },
	[SV_TARGET] = { "target", COL_NUM, COL_WIDE },
	[SV_BUDGET_LEFT] = { "budget_left", COL_NUM, COL_WIDE },
	[SV_REASON] = { "reason", COL_TEXT, 0 },
	[SV_TRACE] = { "trace", COL_TEXT, COL_WIDE },
};
_Static_assert(ARRAY_SIZE(viol_cols) == SV__COUNT, "one column per slo_violation_col");

static const struct view def_view = VIEW("objectives", def_cols);
static const struct view status_view = VIEW("slo", status_cols);
static const struct view viol_view = VIEW("violations", viol_cols);

struct rowset *
slo_objective_view(void)
{
	return rows_view(&def_view);
}

void
slo_objective_view_add(struct rowset *rs, const struct slo_objective *o)
{
	size_t r = rows_add(rs);
	char w[24];

	slo_window_text(o->window_s, w);
	rows_set(rs, r, SD_SWARM, o->swarm);
	if (o->has[SLO_LATENCY])
		rows_set_num(rs, r, SD_P99_MS, o->p99_ms);
	if (o->has[SLO_SUCCESS])
		rows_set_num(rs, r, SD_SUCCESS, o->target[SLO_SUCCESS]);
	if (o->has[SLO_AVAILABILITY])
		rows_set_num(rs, r, SD_AVAILABILITY, o->target[SLO_AVAILABILITY]);
	rows_set(rs, r, SD_WINDOW, w);
	rows_set_time(rs, r, SD_UPDATED, o->updated);
	rows_set(rs, r, SD_BY, o->by);
	rows_set_time(rs, r, SD_CREATED, o->created);
	if (o->rev)
		rows_set_u64(rs, r, SD_REVISION, o->rev);
}

struct rowset *
slo_status_view(void)
{
	return rows_view(&status_view);
}

/* A burn rate cell: null without data, "14.4x" in tables. */
static void
set_burn(struct rowset *rs, size_t r, size_t col, const struct slo_obj_result *o,
	 enum slo_win w)
{
	if (!o->burn_data[w])
		return;
	rows_set_num(rs, r, col, o->burn[w]);
	rows_showf(rs, r, col, "%.3gx", o->burn[w]);
}

/* The measured value as tables show it. */
static void
set_measured(struct rowset *rs, size_t r, enum slo_kind k, const struct slo_obj_result *o)
{
	if (!o->data) {
		rows_show(rs, r, SS_MEASURED, "no data");
		return;
	}
	rows_set_num(rs, r, SS_MEASURED, o->measured);
	if (k == SLO_LATENCY)
		rows_showf(rs, r, SS_MEASURED, "%.4g ms", o->measured);
	else
		rows_showf(rs, r, SS_MEASURED, "%.4f%%", o->measured * 100);
	rows_set_bool(rs, r, SS_MET, o->met);
	rows_set_num(rs, r, SS_BUDGET_LEFT, o->budget_left);
	rows_showf(rs, r, SS_BUDGET_LEFT, "%.1f%%", o->budget_left * 100);
}

void
slo_status_view_add(struct rowset *rs, const struct slo_result *res,
		    const struct slo_objective *obj)
{
	static const size_t burn_col[] = { SS_BURN_5M, SS_BURN_30M, SS_BURN_1H, SS_BURN_6H,
					   SS_BURN_3D };
	char w[24];
	int k;
	size_t r, i;

	slo_window_text(obj->window_s, w);
	for (k = 0; k < SLO__KINDS; k++) {
		const struct slo_obj_result *o = &res->o[k];
		if (!o->defined)
			continue;
		r = rows_add(rs);
		rows_set(rs, r, SS_SWARM, res->swarm);
		rows_set(rs, r, SS_OBJECTIVE, slo_kind_name(k));
		rows_set_num(rs, r, SS_TARGET, o->target);
		if (k == SLO_LATENCY)
			rows_showf(rs, r, SS_TARGET, "p99<=%.4g ms", o->target);
		else
			rows_showf(rs, r, SS_TARGET, ">=%.4g%%", o->target * 100);
		set_measured(rs, r, (enum slo_kind)k, o);
		rows_set_u64(rs, r, SS_SAMPLES, o->total);
		for (i = 0; i < ARRAY_SIZE(burn_col); i++)
			set_burn(rs, r, burn_col[i], o, (enum slo_win)i);
		rows_set(rs, r, SS_ALERT, slo_alert_name(o->alert));
		rows_set(rs, r, SS_VERDICT, slo_verdict_name(o->verdict));
		rows_set(rs, r, SS_WINDOW, w);
		rows_set(rs, r, SS_REASON, o->reason);
	}
}

struct rowset *
slo_violation_view(void)
{
	return rows_view(&viol_view);
}

void
slo_violation_view_add(struct rowset *rs, const struct slo_violation *v)
{
	size_t r = rows_add(rs);

	rows_set(rs, r, SV_SWARM, v->swarm);
	rows_set(rs, r, SV_OBJECTIVE, slo_kind_name(v->kind));
	rows_set_u64(rs, r, SV_EPISODE, v->episode);
	rows_set(rs, r, SV_STATE, v->open ? "open" : "closed");
	rows_set_time(rs, r, SV_OPENED, v->opened);
	rows_set_time(rs, r, SV_CLOSED, v->closed);
	rows_set_num(rs, r, SV_MEASURED, v->measured);
	rows_set_num(rs, r, SV_TARGET, v->target);
	rows_set_num(rs, r, SV_BUDGET_LEFT, v->budget_left);
	rows_set(rs, r, SV_REASON, v->reason);
	rows_set(rs, r, SV_TRACE, v->trace);
}

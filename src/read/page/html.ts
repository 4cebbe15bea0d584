/**
 * The page's HTML: no inline script, style block or style attribute (the read API's CSP allows
 * scripts and styles from its own origin only); behaviour in /assets/dashboard.js, looks in
 * /assets/dashboard.css. Elements start hidden with the `hidden` attribute.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cqrs-sidecar</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>cqrs-sidecar</h1>
  <nav><a id="nav-shop" href="/">Shop dashboard</a><a id="nav-explore" href="/?view=explore">Explore tables</a></nav>
  <span id="shop-controls">
    <label>Range <select id="range">
      <option value="1">24 hours</option><option value="7">7 days</option><option value="30" selected>30 days</option>
      <option value="90">90 days</option><option value="365">365 days</option></select></label>
    <label>Buckets <select id="granularity"><option value="hour">hour</option><option value="day" selected>day</option><option value="week">week</option></select></label>
  </span>
  <label>Refresh <select id="refresh"><option value="0">off</option><option value="2000">2 s</option><option value="5000" selected>5 s</option><option value="15000">15 s</option></select></label>
  <span id="login" hidden><label for="token">Read API token</label><input id="token" type="password" autocomplete="off" size="18"><button id="save-token" type="button">Use</button></span>
  <button id="logout" type="button" title="Forget the token stored in this tab">Forget token</button>
  <div id="freshness" data-state="unknown" title="How fresh the projection is"><span class="dot"></span><span id="freshness-text">freshness: …</span></div>
</header>
<div id="error" role="alert" hidden></div>
<main id="view-shop" class="cards">
  <section class="card wide"><h2>Totals</h2>
    <div class="kpis">
      <div class="kpi"><b id="kpi-revenue">–</b><span>revenue</span></div>
      <div class="kpi"><b id="kpi-orders">–</b><span>orders</span></div>
      <div class="kpi"><b id="kpi-aov">–</b><span>average order value</span></div>
    </div>
  </section>
  <section class="card wide"><h2>Revenue and orders over time</h2><div class="chart"><canvas id="chart-revenue"></canvas></div></section>
  <section class="card"><h2>Orders by status</h2><div class="chart"><canvas id="chart-status"></canvas></div></section>
  <section class="card"><h2>New vs returning customers</h2><div class="chart"><canvas id="chart-customers"></canvas></div></section>
  <section class="card"><h2>Top products by revenue</h2><div class="chart"><canvas id="chart-top-revenue"></canvas></div></section>
  <section class="card"><h2>Top products by units</h2><div class="chart"><canvas id="chart-top-units"></canvas></div></section>
  <section class="card wide"><h2>Stock below <input id="threshold" class="narrow" type="number" min="0" value="10"></h2><div class="chart"><canvas id="chart-stock"></canvas></div></section>
</main>
<main id="view-explore" class="explore" hidden>
  <section class="card" id="tables-card"><h2>Projected tables</h2><table id="tables-list" class="grid"></table></section>
  <div class="explore-main">
    <p id="explore-hint" class="card hint">Pick a table on the left: its rows, filters, a CSV export and charts appear here.</p>
    <section class="card" id="table-card" hidden>
      <h2><span id="table-title"></span> <span id="table-count" class="muted"></span></h2>
      <form id="filter-form" class="toolbar">
        <label>Filter <select id="filter-column"></select></label>
        <select id="filter-op" aria-label="operator"></select>
        <input id="filter-value" aria-label="value" size="22">
        <button id="filter-add" type="submit">Add filter</button>
        <span class="spacer"></span>
        <span id="csv-note" class="muted"></span>
        <button id="csv" type="button" title="The rows of the current filter and order, streamed (at most READ_MAX_ROWS)">Download CSV</button>
      </form>
      <div id="filter-chips" class="chips"></div>
      <div class="scroll"><table id="rows" class="grid"></table></div>
      <div class="pager">
        <button id="page-first" type="button">« First</button>
        <button id="page-prev" type="button">‹ Previous</button>
        <span id="page-info" class="muted"></span>
        <button id="page-next" type="button">Next ›</button>
      </div>
    </section>
    <section class="card" id="chart-card" hidden>
      <h2>Chart <span id="chart-title" class="muted"></span></h2>
      <div class="toolbar">
        <label>Chart <select id="chart-kind"><option value="">none</option><option value="group">group by a column</option><option value="time">time series</option></select></label>
        <label id="chart-by-label">by <select id="chart-by"></select></label>
        <label id="chart-bucket-label">per <select id="chart-bucket"></select></label>
        <label id="chart-metric-label">showing <select id="chart-fn"></select> <select id="chart-col" aria-label="of column"></select></label>
      </div>
      <div id="chart-area" class="chart"><canvas id="chart-explore"></canvas></div>
    </section>
  </div>
</main>
</body>
</html>
`;

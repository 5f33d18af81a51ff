const $ = (id) => document.getElementById(id);
$("base").textContent = "ANTHROPIC_BASE_URL=" + location.origin;
function since(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
}
async function refresh() {
  try {
    const r = await fetch("/health", { cache: "no-store" });
    const h = await r.json();
    $("state").textContent = h.status === "ok" ? "Running." : "Status: " + h.status;
    $("state").className = h.status === "ok" ? "" : "bad";
    $("version").textContent = h.version;
    $("pid").textContent = h.pid;
    $("uptime").textContent = since(h.uptime);
  } catch (e) {
    $("state").textContent = "Not answering.";
    $("state").className = "bad";
  }
}
refresh();
setInterval(refresh, 5000);

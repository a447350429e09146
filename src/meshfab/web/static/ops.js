// Operator dashboard: the demand/capacity chart and the live event feed (server-sent events).
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const box = document.getElementById("chart");
  const xs = data.map((d) => Date.parse(d.day + "T00:00:00Z") / 1000);
  const width = () => Math.max(280, box.clientWidth);
  const plot = new uPlot({
    width: width(), height: 260,
    scales: {x: {time: true}},
    series: [
      {},
      {label: "Reserved min", stroke: "#0969da", fill: "rgba(9,105,218,0.15)", width: 2},
      {label: "Available min", stroke: "#1a7f37", width: 2, dash: [6, 4]},
    ],
    axes: [{}, {size: 72}],
  }, [xs, data.map((d) => d.reserved), data.map((d) => d.available)], box);
  window.addEventListener("resize", () => plot.setSize({width: width(), height: 260}));

  const feed = document.getElementById("feed");
  const source = new EventSource("/ops/events?after=" + feed.dataset.after);
  source.addEventListener("mesh", (message) => {
    const e = JSON.parse(message.data);
    const empty = feed.querySelector(".empty");
    if (empty) empty.remove();
    const li = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = e.type;
    const at = document.createElement("span");
    at.className = "muted";
    at.textContent = " " + e.at + " ";
    li.append(code, at, document.createTextNode(e.text));
    li.dataset.type = e.type;
    feed.prepend(li);
    while (feed.children.length > 50) feed.lastElementChild.remove();
    htmx.trigger(document.body, "refresh");
  });
});

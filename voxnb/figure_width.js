// voxnb: tells the kernel how wide the cell's output area is, so an interactive (ipympl) figure
// is drawn at that width instead of overflowing the cell. An invisible, zero-height element.
function render({ model, el }) {
  el.style.width = "100%";
  el.style.height = "0px";
  const send = () => {
    const width = Math.floor(el.getBoundingClientRect().width);
    if (width > 0 && width !== model.get("width")) {
      model.set("width", width);
      model.save_changes();
    }
  };
  const observer = new ResizeObserver(send);
  observer.observe(el);
  send();
  return () => observer.disconnect();
}

export default { render };

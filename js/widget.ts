// Placeholder entry until the studio's frontend lands (see js/README.md).
import "./widget.css";

export default {
  render({ el }: { el: HTMLElement }) {
    el.classList.add("anyfast-studio");
    el.textContent = "ImageStudio";
  },
};

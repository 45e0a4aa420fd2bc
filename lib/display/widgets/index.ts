/** Jupyter widgets for the lessons: controls that call back into the kernel, and interact. */
export {
  Box,
  Button,
  button,
  checkbox,
  dropdown,
  floatSlider,
  hbox,
  intSlider,
  logSlider,
  Output,
  output,
  ValueWidget,
  vbox,
  Widget,
  type DropdownOptions,
  type LabelOptions,
  type LogSliderOptions,
  type SliderOptions,
} from "./controls";
export { interact, interactive, Interactive, type Control, type Values } from "./interact";
export { liveModels, PROTOCOL_VERSION, WidgetModel } from "./model";

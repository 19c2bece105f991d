/* state.js — what the viewer's modules share: the flow store and the selection. One instance
 * per page (ES modules are evaluated once). */
import { FlowStore } from './flowstore.js';

const store = new FlowStore();
const state = {
  selectedId: 0,     // the flow shown in the detail pane (0: none)
  following: true,   // keep the newest flow in view
  loading: true,     // summaries still being paged in
  generation: 0,     // bumped by a clear: pages of an older load are dropped
  marked: [],        // flow ids picked for Compare (at most two, oldest first)
};

export { store, state };

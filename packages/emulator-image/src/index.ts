export { loadAppliance, type Appliance } from './appliance.js';

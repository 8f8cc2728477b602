export { tempPathFor, writeFileAtomic, type AtomicWriteOptions } from './atomic-write.js';

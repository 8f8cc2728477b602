export { readU16both, readU32both, u16both, u16be, u16le, u32both, u32be, u32le } from './numbers.js';

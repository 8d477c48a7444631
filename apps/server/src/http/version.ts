/** The server's version: `vodcloud --version`, the OpenAPI document, the node's registry entry. */
export const VERSION = '0.1.0';

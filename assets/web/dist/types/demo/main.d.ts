/**
 * The demo page: the arena in a canvas, played through the SDK; or the cubes game (3D,
 * `?kind=cubes`, or a server whose default game it is) from above, drawn by `cubes.ts`
 * from the world values the SDK decodes with the Welcome schema alone.
 *
 * Remote entities are drawn from the interpolation buffer (a little in the past, smooth);
 * the local player from the predictor (at once, reconciled with the server's acks). The
 * camera follows the player; WASD or the arrows move, the mouse aims, a click or space
 * fires, a right-click or E fires the hitscan rail (lag-compensated on the server). The HUD shows the connection's figures, and `window.tickcast` exposes them to
 * the browser test.
 *
 * The page joins through matchmaking: `POST /matchmake` for the server's default game
 * (`?kind=` asks for another, `?room=ID` for one room), then the room it was given, shown
 * in the HUD; a drop resumes there. `?direct` (or `?room=default`, or `?url=ws://…`)
 * connects to the plain `/ws` instead, the node's default room, as before matchmaking.
 *
 * `?spectate` watches the whole world as a spectator (no player, no inputs): the camera
 * fits the map to the window; `?spectate=x,y` watches the area around that point. Either
 * way a drag, WASD or the arrows pan, the wheel zooms, and F goes back to the first view.
 * Spectators watch the default room unless `?room=ID` names another.
 *
 * The SDK picks the transport (a WebSocket, or the HTTP fallback where WebSockets do not
 * get through), and the HUD shows which; `?transport=http` or `?transport=websocket`
 * forces one.
 */
export {};

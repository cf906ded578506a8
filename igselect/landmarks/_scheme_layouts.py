"""Index tables of the built-in landmark schemes (plain literals, no logic).

Left and right are always the *subject's* (MediaPipe's and iBUG's convention), so in a
non-mirrored image the subject's left appears on the right-hand side. The canonical 2-D
layouts of the pose and the hand are hand-made (an upright person facing the camera, a
right hand seen palm-on with the fingers up), in image orientation (y down) with the
subject's left at larger x; they are templates for plots and the aligner, not averages
of measured data.
"""

from __future__ import annotations

# ---------------------------------------------------------------- MediaPipe face mesh 468
# MediaPipe's own connection lists (FaceLandmarksConnections), copied so that importing
# igselect does not import MediaPipe (which imports TensorFlow).
# fmt: off
MESH_MEDIAPIPE_REGIONS = {
    "lips": [0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181,
             185, 191, 267, 269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375,
             402, 405, 409, 415],
    "left_eye": [249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398,
                 466],
    "right_eye": [7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246],
    "left_brow": [276, 282, 283, 285, 293, 295, 296, 300, 334, 336],
    "right_brow": [46, 52, 53, 55, 63, 65, 66, 70, 105, 107],
    "nose": [1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294,
             326, 327, 344, 440],
    "face_oval": [10, 21, 54, 58, 67, 93, 103, 109, 127, 132, 136, 148, 149, 150, 152, 162,
                  172, 176, 234, 251, 284, 288, 297, 323, 332, 338, 356, 361, 365, 377, 378,
                  379, 389, 397, 400, 454],
}

# Ordered contours, drawn as polylines.
MESH_CONTOURS = {
    "face_oval": [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379,
                  378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127,
                  162, 21, 54, 103, 67, 109, 10],
    "lips_outer": [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0,
                   37, 39, 40, 185, 61],
    "lips_inner": [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13,
                   82, 81, 80, 191, 78],
    "right_eye": [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
                  33],
    "left_eye": [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388,
                 466, 263],
    "right_brow_upper": [70, 63, 105, 66, 107],
    "right_brow_lower": [46, 53, 52, 65, 55],
    "left_brow_upper": [300, 293, 334, 296, 336],
    "left_brow_lower": [276, 283, 282, 295, 285],
    "nose_bridge": [168, 6, 197, 195, 5, 4, 1, 19, 94, 2],
    "nose_base": [98, 97, 2, 326, 327],
}

# Mesh point of each iBUG 68 point, in iBUG order. Single-index version of the mapping
# used by MediaPipe-to-dlib converters (e.g. PeizhiYan/Mediapipe_2_Dlib_Landmarks): jaw
# from the subject's right ear level to the left, brows outer to inner, nose bridge then
# base, eyes from the outer (right eye) / inner (left eye) corner clockwise in the
# image, outer then inner lips from the right mouth corner. It commutes with mirroring.
MESH_TO_IBUG_68 = [
    127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356,
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
    78, 82, 13, 312, 308, 317, 14, 87,
]

# ------------------------------------------------------------------------- iBUG 300-W 68
IBUG_68_REGIONS = {
    "jaw": list(range(0, 17)),
    "right_brow": list(range(17, 22)),
    "left_brow": list(range(22, 27)),
    "nose": list(range(27, 36)),
    "right_eye": list(range(36, 42)),
    "left_eye": list(range(42, 48)),
    "outer_lips": list(range(48, 60)),
    "inner_lips": list(range(60, 68)),
}
IBUG_68_PAIRS = (
    [(i, 16 - i) for i in range(8)]
    + [(17 + i, 26 - i) for i in range(5)]
    + [(31, 35), (32, 34)]
    + [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
    + [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58), (60, 64), (61, 63), (65, 67)]
)
IBUG_68_CONTOURS = {
    "jaw": list(range(0, 17)),
    "right_brow": list(range(17, 22)),
    "left_brow": list(range(22, 27)),
    "nose_bridge": [27, 28, 29, 30, 33],
    "nose_base": list(range(31, 36)),
    "right_eye": [*range(36, 42), 36],
    "left_eye": [*range(42, 48), 42],
    "outer_lips": [*range(48, 60), 48],
    "inner_lips": [*range(60, 68), 60],
}

# ---------------------------------------------------------------- MediaPipe Pose 33
POSE_33_NAMES = [
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb",
    "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
]
POSE_33_REGIONS = {
    "face": list(range(0, 11)),
    "torso": [11, 12, 23, 24],
    "left_arm": [13, 15],
    "right_arm": [14, 16],
    "left_hand": [17, 19, 21],
    "right_hand": [18, 20, 22],
    "left_leg": [25, 27, 29, 31],
    "right_leg": [26, 28, 30, 32],
}
POSE_33_PAIRS = [(1, 4), (2, 5), (3, 6), (7, 8), (9, 10)] + [(i, i + 1) for i in range(11, 33, 2)]
# MediaPipe's POSE_CONNECTIONS.
POSE_33_EDGES = [
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12),
    (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18),
    (16, 20), (16, 22), (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27),
    (26, 28), (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
]
# Subject's left side (x > 0) of an upright person, arms hanging a little away from the
# body; units of about a head height, y down, hips at y = 0. The right side mirrors it.
_POSE_LEFT = {
    "left_eye_inner": (0.12, -5.45), "left_eye": (0.22, -5.47), "left_eye_outer": (0.32, -5.45),
    "left_ear": (0.48, -5.3), "mouth_left": (0.16, -4.95), "left_shoulder": (1.0, -4.0),
    "left_elbow": (1.3, -2.5), "left_wrist": (1.45, -1.1), "left_pinky": (1.58, -0.75),
    "left_index": (1.45, -0.62), "left_thumb": (1.3, -0.8), "left_hip": (0.6, 0.0),
    "left_knee": (0.66, 2.0), "left_ankle": (0.7, 4.0), "left_heel": (0.66, 4.25),
    "left_foot_index": (0.92, 4.4),
}
POSE_33_LAYOUT = {"nose": (0.0, -5.2)}
for _name, (_x, _y) in _POSE_LEFT.items():
    POSE_33_LAYOUT[_name] = (_x, _y)
    POSE_33_LAYOUT[_name.replace("left", "right")] = (-_x, _y)

# ---------------------------------------------------------------- MediaPipe Hand 21
HAND_21_NAMES = [
    "wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_finger_mcp", "index_finger_pip", "index_finger_dip", "index_finger_tip",
    "middle_finger_mcp", "middle_finger_pip", "middle_finger_dip", "middle_finger_tip",
    "ring_finger_mcp", "ring_finger_pip", "ring_finger_dip", "ring_finger_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
]
HAND_21_REGIONS = {
    "palm": [0, 1, 5, 9, 13, 17],
    "thumb": [2, 3, 4],
    "index_finger": [6, 7, 8],
    "middle_finger": [10, 11, 12],
    "ring_finger": [14, 15, 16],
    "pinky": [18, 19, 20],
}
# MediaPipe's HAND_CONNECTIONS.
HAND_21_EDGES = [
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10),
    (10, 11), (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18),
    (18, 19), (19, 20),
]
# A right hand, palm towards the camera, fingers up: the thumb is on the image left.
HAND_21_LAYOUT = [
    (0.0, 0.0),
    (-0.35, -0.3), (-0.68, -0.6), (-0.9, -0.9), (-1.05, -1.15),
    (-0.38, -1.2), (-0.43, -1.7), (-0.46, -2.0), (-0.48, -2.25),
    (-0.08, -1.27), (-0.08, -1.82), (-0.08, -2.16), (-0.08, -2.42),
    (0.2, -1.2), (0.25, -1.68), (0.28, -1.98), (0.3, -2.2),
    (0.45, -1.05), (0.55, -1.42), (0.6, -1.66), (0.65, -1.86),
]
# fmt: on
